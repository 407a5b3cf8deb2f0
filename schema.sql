-- dbward bot state schema (version 1), the one definition of the state store for both engines.
-- Every open applies it under the store's write lock; each statement is idempotent, and a column
-- added to an existing table is also listed in bot/src/store/added-columns.ts. SQLite runs it as
-- it is; PostgreSQL runs the form bot/src/store/postgres-schema.ts derives (identity ids, BIGINT,
-- byte-order text). Times are ISO 8601 UTC text; JSON columns hold canonical JSON text.

CREATE TABLE IF NOT EXISTS schema_version (
  version INTEGER PRIMARY KEY,
  applied_at TEXT NOT NULL
);

CREATE TABLE IF NOT EXISTS users (
  id TEXT NOT NULL PRIMARY KEY,
  display_name TEXT NOT NULL,
  email TEXT,
  slack_user_id TEXT UNIQUE,
  roles TEXT NOT NULL,               -- JSON array of role names
  groups_json TEXT NOT NULL,         -- JSON array of group names
  status TEXT NOT NULL CHECK (status IN ('active', 'suspended')),
  source TEXT NOT NULL CHECK (source IN ('config', 'admin', 'oidc')),
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL,
  oidc_subject TEXT UNIQUE           -- '<issuer>#<sub>' this user signs in as through OIDC
);

-- API and agent tokens: only a SHA-256 of the secret is kept, with a short prefix to find it.
CREATE TABLE IF NOT EXISTS api_tokens (
  id TEXT NOT NULL PRIMARY KEY,
  kind TEXT NOT NULL CHECK (kind IN ('user', 'agent')),
  subject TEXT NOT NULL,             -- user id or agent id
  name TEXT NOT NULL,
  prefix TEXT NOT NULL,
  secret_sha256 TEXT NOT NULL,
  created_at TEXT NOT NULL,
  expires_at TEXT,
  revoked_at TEXT,
  last_used_at TEXT,
  ceiling_roles TEXT,                -- JSON array: the token acts with at most these roles; NULL: no ceiling
  created_by TEXT                    -- the actor who issued it (user:…, system)
);
CREATE INDEX IF NOT EXISTS api_tokens_prefix ON api_tokens (prefix);
CREATE INDEX IF NOT EXISTS api_tokens_subject ON api_tokens (kind, subject);

-- People not yet known asking to join (from Slack); an admin approves (creating the user) or rejects.
CREATE TABLE IF NOT EXISTS join_requests (
  id TEXT NOT NULL PRIMARY KEY,
  slack_user_id TEXT NOT NULL,
  display_name TEXT NOT NULL,
  email TEXT,
  requested_role TEXT NOT NULL,
  groups_json TEXT NOT NULL,         -- JSON array of group names
  reason TEXT NOT NULL,
  status TEXT NOT NULL CHECK (status IN ('pending', 'approved', 'rejected', 'expired')),
  created_at TEXT NOT NULL,
  expires_at TEXT NOT NULL,
  decided_by TEXT,
  decided_at TEXT,
  decision_reason TEXT,
  user_id TEXT
);
CREATE INDEX IF NOT EXISTS join_requests_status ON join_requests (status);

CREATE TABLE IF NOT EXISTS requests (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  status TEXT NOT NULL CHECK (status IN ('pending_approval', 'approved', 'dispatched', 'running', 'succeeded',
    'failed', 'timed_out', 'lost', 'rejected', 'expired', 'cancelled')),
  requester TEXT NOT NULL,
  database_name TEXT NOT NULL,
  environment TEXT NOT NULL,
  operation TEXT NOT NULL CHECK (operation IN ('read', 'write', 'ddl')),
  sql_text TEXT NOT NULL,
  sql_sha256 TEXT NOT NULL,
  reason TEXT NOT NULL,
  review_json TEXT NOT NULL,
  workflow_json TEXT NOT NULL,       -- the matched workflow, frozen at creation
  limits_json TEXT NOT NULL,         -- the execution policy (timeout, row cap), frozen at creation
  break_glass_reason TEXT,           -- set when approval was skipped by break-glass
  status_reason TEXT,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL,
  approved_at TEXT,
  dispatched_at TEXT,
  expires_at TEXT NOT NULL,
  rerun_of INTEGER REFERENCES requests (id), -- the finished request this one runs again (Run again)
  run_by TEXT,                       -- run: by_requester, not yet run: it expires at this time
  run_requested_at TEXT,             -- run: by_requester: when its requester asked for it to run
  not_before TEXT                    -- an approver's window: dispatched no earlier than this
);
CREATE INDEX IF NOT EXISTS requests_status ON requests (status);
CREATE INDEX IF NOT EXISTS requests_requester ON requests (requester);

CREATE TABLE IF NOT EXISTS approvals (
  request_id INTEGER NOT NULL REFERENCES requests (id),
  step INTEGER NOT NULL,             -- index into the snapshotted workflow's steps
  approver TEXT NOT NULL,
  selector TEXT NOT NULL,            -- the selector this decision counted under (role:…, group:…, user:…)
  decision TEXT NOT NULL CHECK (decision IN ('approved', 'rejected')),
  comment TEXT,
  created_at TEXT NOT NULL,
  PRIMARY KEY (request_id, step, approver)
);

-- Preflights: work an agent does for approvers before they decide (an EXPLAIN, never the
-- statement itself). One per request and kind, created with the request; the bot keeps its own
-- summary of the plan next to the raw plan.
CREATE TABLE IF NOT EXISTS preflights (
  id TEXT NOT NULL PRIMARY KEY,               -- '<request id>-<kind>', the agent's handle
  request_id INTEGER NOT NULL REFERENCES requests (id),
  kind TEXT NOT NULL CHECK (kind IN ('explain', 'dry_run')), -- widened-checks.ts: stores made before dry_run
  status TEXT NOT NULL CHECK (status IN ('pending', 'running', 'succeeded', 'failed')),
  agent_id TEXT,
  token_id TEXT UNIQUE,
  created_at TEXT NOT NULL,
  claimed_at TEXT,
  lease_expires_at TEXT,
  finished_at TEXT,
  duration_ms INTEGER,
  summary_json TEXT,                 -- the bot's summary of the plan (plan-summary.ts)
  plan_json TEXT,                    -- the plan as EXPLAIN returned it
  affected_rows INTEGER,             -- a dry run's count of changed rows (rolled back)
  error_code TEXT,
  error_message TEXT
);
CREATE INDEX IF NOT EXISTS preflights_status ON preflights (status);
CREATE INDEX IF NOT EXISTS preflights_request ON preflights (request_id);

CREATE TABLE IF NOT EXISTS executions (
  id TEXT NOT NULL PRIMARY KEY,               -- '<request id>-<number>', the agent's job id
  request_id INTEGER NOT NULL REFERENCES requests (id),
  number INTEGER NOT NULL,
  agent_id TEXT NOT NULL,
  token_id TEXT NOT NULL UNIQUE,
  status TEXT NOT NULL CHECK (status IN ('running', 'succeeded', 'failed', 'timed_out', 'lost', 'cancelled')),
  claimed_at TEXT NOT NULL,
  lease_expires_at TEXT NOT NULL,
  finished_at TEXT,
  duration_ms INTEGER,
  row_count INTEGER,
  affected_rows INTEGER,
  result_json TEXT,
  error_code TEXT,
  error_message TEXT,
  cancel_requested INTEGER NOT NULL DEFAULT 0,
  -- The result's rows live in the result store (bot/src/results/), keyed by the execution id;
  -- result_json then holds only a preview of the first rows.
  result_chunks INTEGER,             -- chunks stored; NULL when no rows were stored
  result_bytes INTEGER,              -- NDJSON bytes stored
  result_truncated_by TEXT CHECK (result_truncated_by IN ('rows', 'bytes', 'undelivered')),
  result_expires_at TEXT,            -- retention: when the store deletes the rows; NULL: kept
  result_purged_at TEXT,             -- when the rows were deleted
  result_columns TEXT,               -- the column names (JSON), known with chunk 0: a reader following the result streams it
  UNIQUE (request_id, number)
);
CREATE INDEX IF NOT EXISTS executions_status ON executions (status);

CREATE TABLE IF NOT EXISTS agents (
  id TEXT NOT NULL PRIMARY KEY,
  last_seen_at TEXT NOT NULL,
  capabilities_json TEXT NOT NULL,
  degraded_json TEXT                 -- JSON array of databases the agent cannot reach now
);

-- The latest schema context an agent reported for one database x environment (protocol.ts
-- SchemaReportBody): tables, sizes, keys and cascades, for approvers and risk. Replaced whole.
CREATE TABLE IF NOT EXISTS schema_contexts (
  database_name TEXT NOT NULL,
  environment TEXT NOT NULL,
  agent_id TEXT NOT NULL,
  collected_at TEXT NOT NULL,
  received_at TEXT NOT NULL,
  truncated INTEGER NOT NULL CHECK (truncated IN (0, 1)),
  tables_json TEXT NOT NULL,         -- SchemaTable[], validated on the way out
  report_id TEXT,                    -- random per report: what a parsed copy of tables_json is kept by
  PRIMARY KEY (database_name, environment)
);

-- The one live polling session per agent id (docs/agent.md: one process per agent id). A session
-- is an agent's data directory: another one polling with the same id is refused while this one
-- was seen within the liveness window.
CREATE TABLE IF NOT EXISTS agent_sessions (
  agent_id TEXT NOT NULL PRIMARY KEY,
  session_id TEXT NOT NULL,
  last_seen_at TEXT NOT NULL
);

-- Idempotency-Key values of request creation (docs/api.md#idempotency-key), per requester: the
-- one request a key created and the SHA-256 of the canonical JSON of that call's body. Written in
-- the request's own transaction; rows older than 24 hours are deleted whenever a key is stored.
CREATE TABLE IF NOT EXISTS idempotency_keys (
  requester TEXT NOT NULL,
  key TEXT NOT NULL,
  body_sha256 TEXT NOT NULL,
  request_id INTEGER NOT NULL REFERENCES requests (id),
  created_at TEXT NOT NULL,
  PRIMARY KEY (requester, key)
);
CREATE INDEX IF NOT EXISTS idempotency_keys_created ON idempotency_keys (created_at);

-- The audit hash chain (shared/src/audit-chain.ts). Append-only.
CREATE TABLE IF NOT EXISTS audit_events (
  seq INTEGER PRIMARY KEY,
  time TEXT NOT NULL,
  actor TEXT NOT NULL,
  action TEXT NOT NULL,
  target TEXT NOT NULL,
  outcome TEXT NOT NULL,
  details TEXT NOT NULL,             -- canonical JSON
  prev_hash TEXT NOT NULL,
  hash TEXT NOT NULL
);

-- Signed checkpoints of the chain's head (shared/src/audit-checkpoint.ts). Retention purges
-- events only up to one of these, which then anchors verification.
CREATE TABLE IF NOT EXISTS audit_checkpoints (
  seq INTEGER PRIMARY KEY,           -- the newest event covered
  hash TEXT NOT NULL,
  time TEXT NOT NULL,
  kid TEXT NOT NULL,
  signature TEXT NOT NULL            -- base64url Ed25519
);

-- One row: events appended since the last checkpoint, counted by every append (never derived
-- from sequence numbers).
CREATE TABLE IF NOT EXISTS audit_checkpoint_state (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  events_since_checkpoint INTEGER NOT NULL
);
INSERT INTO audit_checkpoint_state (id, events_since_checkpoint) SELECT 1, 0
  WHERE NOT EXISTS (SELECT 1 FROM audit_checkpoint_state WHERE id = 1);

-- Every outbound webhook attempt (bot/src/webhooks/), one row each. The URL is not stored: it
-- may carry a credential in its path.
CREATE TABLE IF NOT EXISTS webhook_deliveries (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  delivery_id TEXT NOT NULL,         -- '<audit seq>.<webhook name>', sent as X-Dbward-Delivery
  webhook TEXT NOT NULL,
  event TEXT NOT NULL,
  audit_seq INTEGER NOT NULL,
  request_id INTEGER NOT NULL,
  attempt INTEGER NOT NULL,
  status TEXT NOT NULL CHECK (status IN ('sending', 'succeeded', 'failed', 'refused')),
  http_status INTEGER,
  error TEXT,
  started_at TEXT NOT NULL,
  finished_at TEXT,
  next_attempt_at TEXT,              -- set while a retry is scheduled
  UNIQUE (delivery_id, attempt)
);
CREATE INDEX IF NOT EXISTS webhook_deliveries_request ON webhook_deliveries (request_id);
-- What is still to do (pending-deliveries.ts reads it at every start and whenever memory had no
-- room): small, while the table keeps every attempt ever made.
CREATE INDEX IF NOT EXISTS webhook_deliveries_pending ON webhook_deliveries (delivery_id, attempt)
  WHERE status = 'sending' OR next_attempt_at IS NOT NULL;

-- One row: how far the webhook dispatcher has routed the audit chain (bot/src/webhooks/
-- routing-position.ts). Every delivery for every event up to audit_seq has its first attempt's row.
-- No row: the next start begins at the chain's head.
CREATE TABLE IF NOT EXISTS webhook_cursor (
  id INTEGER NOT NULL PRIMARY KEY CHECK (id = 1),
  audit_seq INTEGER NOT NULL,
  updated_at TEXT NOT NULL
);

-- Where the Slack messages about a request live, so they are redrawn in place after a restart and
-- by any bot instance. kind 'post' is the approvals-channel message (user_id ''), 'dm' an approver's DM.
CREATE TABLE IF NOT EXISTS slack_messages (
  request_id INTEGER NOT NULL,
  kind TEXT NOT NULL CHECK (kind IN ('post', 'dm')),
  user_id TEXT NOT NULL,
  channel TEXT NOT NULL,
  ts TEXT NOT NULL,
  PRIMARY KEY (request_id, kind, user_id)
);

-- Timed nudges about a pending request, one row each (bot/src/use-cases/remind-approvers.ts,
-- warn-near-expiry.ts), written in the transaction of its audit event and outbox rows: the key
-- makes a second sweep of the same moment (a restart, another instance) do nothing. kind
-- 'reminder': round n is the nth `remind_after` interval step `step` has waited; 'expiry': the
-- requester's one warning that the request expires soon (step and round 0).
CREATE TABLE IF NOT EXISTS request_nudges (
  request_id INTEGER NOT NULL,
  kind TEXT NOT NULL CHECK (kind IN ('reminder', 'expiry')),
  step INTEGER NOT NULL,
  round INTEGER NOT NULL,
  created_at TEXT NOT NULL,
  PRIMARY KEY (request_id, kind, step, round)
);

-- The reminder DM each approver got about a waiting step: one message per approver and step,
-- updated in place by later reminders instead of posted again.
CREATE TABLE IF NOT EXISTS reminder_dms (
  request_id INTEGER NOT NULL,
  step INTEGER NOT NULL,
  user_id TEXT NOT NULL,
  channel TEXT NOT NULL,
  ts TEXT NOT NULL,
  PRIMARY KEY (request_id, step, user_id)
);

-- An approver's "Snooze 1h" on a reminder DM: no reminder reaches them about the request before
-- `until` (bot/src/use-cases/snooze-reminder.ts).
CREATE TABLE IF NOT EXISTS reminder_snoozes (
  request_id INTEGER NOT NULL,
  user_id TEXT NOT NULL,
  until TEXT NOT NULL,
  PRIMARY KEY (request_id, user_id)
);

-- The Slack outbox (bot/src/slack/slack-sender.ts): every Slack call that changes what people see,
-- written in the same transaction as the change that causes it (or, for a listener's answer, as
-- soon as the answer is known), and deleted once Slack took it. Rows in one lane go out in id
-- order; a row waiting for its retry holds its lane. `coalesce_key`: a pending row that draws the
-- newest state when it runs (a post redraw, a Home tab) makes a second one needless. `delivery` is
-- the JSON of one Delivery (bot/src/slack/delivery.ts), `progress` what of it is already done.
CREATE TABLE IF NOT EXISTS slack_outbox (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  lane TEXT NOT NULL,
  coalesce_key TEXT,
  delivery TEXT NOT NULL,
  progress TEXT NOT NULL DEFAULT '[]',
  status TEXT NOT NULL CHECK (status IN ('pending', 'failed')),
  attempts INTEGER NOT NULL DEFAULT 0,
  next_attempt_at TEXT NOT NULL,
  lease_until TEXT,
  lease_token TEXT,                  -- who holds the lease: only its holder may finish the row
  last_error TEXT,
  created_at TEXT NOT NULL,          -- for a coalesced row, when the newest change it stands for was queued
  updated_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS slack_outbox_lane ON slack_outbox (lane, id) WHERE status = 'pending';
CREATE INDEX IF NOT EXISTS slack_outbox_due ON slack_outbox (next_attempt_at) WHERE status = 'pending';
CREATE INDEX IF NOT EXISTS slack_outbox_coalesce ON slack_outbox (coalesce_key) WHERE status = 'pending';

-- Slack deliveries to the bot already handled (bot/src/slack/inbound-dedupe.ts), by identity:
-- `event:<event_id>` for Events API callbacks, `trigger:<trigger_id>` for commands, clicks and
-- submissions. Slack re-delivers what it thinks was not acknowledged (HTTP retries, Socket Mode
-- re-deliveries, several connections); the first insert wins, on any bot instance, across restarts.
CREATE TABLE IF NOT EXISTS slack_inbound_seen (
  identity TEXT NOT NULL PRIMARY KEY,
  seen_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS slack_inbound_seen_at ON slack_inbound_seen (seen_at);

-- Accepted Slack request signatures (bot/src/slack/request-guard.ts, T-REPLAY): an exact replay of
-- a signed request within its five-minute window is refused, on any bot instance, across restarts.
-- Only signatures that verified are written; the first insert wins. Pruned once expired: by then
-- the timestamp the signature covers is stale, and Slack's check refuses the request anyway.
CREATE TABLE IF NOT EXISTS slack_signatures_seen (
  signature TEXT NOT NULL PRIMARY KEY, -- the x-slack-signature header, v0=<hex>
  expires_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS slack_signatures_seen_expires ON slack_signatures_seen (expires_at);

-- Rate-limit token buckets (bot/src/limits/rate-limits.ts), one row per limit and key (a user id
-- for request creation, a client IP for failed authentication), shared by every bot instance.
-- Integer milli-tokens and millisecond times: each take is one upsert computing the refill, with
-- no floats on either engine. No row: a full bucket; rows full again are pruned.
CREATE TABLE IF NOT EXISTS rate_buckets (
  name TEXT NOT NULL CHECK (name IN ('request_create', 'auth_failures')),
  key TEXT NOT NULL,
  milli_tokens INTEGER NOT NULL,     -- tokens left × 1000, as of updated_ms
  updated_ms INTEGER NOT NULL,       -- milliseconds since the epoch
  PRIMARY KEY (name, key)
);
CREATE INDEX IF NOT EXISTS rate_buckets_updated ON rate_buckets (name, updated_ms);

-- Home tabs whose owners opened them (bot/src/slack/home-tabs.ts): only these are redrawn after a
-- change, by whichever instance sends the change's outbox row. shows_joins: drawn with the join
-- requests section (1) or not (0). Tabs not opened for 30 days are forgotten, and the count capped.
CREATE TABLE IF NOT EXISTS home_tabs (
  slack_user_id TEXT NOT NULL PRIMARY KEY,
  shows_joins INTEGER NOT NULL CHECK (shows_joins IN (0, 1)),
  opened_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS home_tabs_opened ON home_tabs (opened_at);

-- The request ids each followed Home tab showed when it was last drawn.
CREATE TABLE IF NOT EXISTS home_tab_requests (
  slack_user_id TEXT NOT NULL,
  request_id INTEGER NOT NULL,
  PRIMARY KEY (slack_user_id, request_id)
);
CREATE INDEX IF NOT EXISTS home_tab_requests_request ON home_tab_requests (request_id);

-- Every signing key the bot has started with: a change of key is audited at the start that makes
-- it, and retired public keys stay published (GET /api/public-key) to verify what they signed.
CREATE TABLE IF NOT EXISTS signing_keys (
  kid TEXT NOT NULL PRIMARY KEY,
  public_key TEXT NOT NULL,          -- base64url Ed25519 public key
  first_used_at TEXT NOT NULL,
  last_started_at TEXT NOT NULL,
  -- Checkpoints this token key may have signed, up to this sequence number: NULL for a key of a
  -- store that still signs both with one key, fixed at the first start with a checkpoint key of its
  -- own (bot/src/keys/signing-key-history.ts), 0 for a key that never signed one.
  checkpoints_until_seq INTEGER
);

-- The keys that signed audit checkpoints, by key id, once the checkpoints have their own key
-- (bot/src/config/signing-config.ts): what `audit verify` checks them with. A key id is in this
-- table or in signing_keys, never both.
CREATE TABLE IF NOT EXISTS checkpoint_signing_keys (
  kid TEXT NOT NULL PRIMARY KEY,
  public_key TEXT NOT NULL,          -- base64url Ed25519 public key
  first_used_at TEXT NOT NULL,
  last_started_at TEXT NOT NULL,
  -- NULL while the key is the current one; fixed at the newest checkpoint's sequence number when a
  -- start brings another key, so a retired key (a derived one whose token key file still exists)
  -- vouches for no newer head, and an instance still holding it stops signing.
  until_seq INTEGER
);

-- Result rows when the state is on PostgreSQL (bot/src/results/postgres-result-store.ts): one row
-- per NDJSON chunk an agent sent, keyed by the execution id and the chunk's seq, so every bot
-- instance reads what any of them stored and no shared file system is needed. On SQLite the rows
-- stay in files under the data directory (file-result-store.ts) and this table is empty.
CREATE TABLE IF NOT EXISTS result_chunks (
  result_key TEXT NOT NULL,          -- the execution id (executions.id)
  seq INTEGER NOT NULL,              -- 0, 1, … as the agent sent them
  rows INTEGER NOT NULL,
  bytes INTEGER NOT NULL,            -- length of data
  data BLOB NOT NULL,                -- the chunk's NDJSON bytes, at most MAX_RESULT_CHUNK_BYTES
  PRIMARY KEY (result_key, seq)
);

-- Data keys of the encrypted state (bot/src/crypto/, docs/security-hardening.md "Encrypted state
-- at rest"): each a 32-byte AES-256-GCM key, kept only wrapped by the key-encryption key from the
-- environment (kek_id names which one). No row: the store is not encrypted. A new KEK re-wraps
-- these rows and rewrites no data.
CREATE TABLE IF NOT EXISTS state_keys (
  key_id TEXT NOT NULL PRIMARY KEY,  -- 16 hex digits: what each sealed value names
  kek_id TEXT NOT NULL,              -- fingerprint of the KEK that wrapped it
  wrapped BLOB NOT NULL,             -- the data key sealed by that KEK (crypto/sealed-value.ts)
  active INTEGER NOT NULL CHECK (active IN (0, 1)), -- 1: new values are sealed with this key
  created_at TEXT NOT NULL,
  wrapped_at TEXT NOT NULL
);

-- Step-up approvals (docs/security-hardening.md "Step-up approvals"): one row per Approve click
-- under a workflow with step_up, bound to that request, that approval step and that user. The
-- private link's secret, the OAuth state and the browser cookie are stored only as SHA-256; the
-- PKCE verifier and the nonce stay here, server-side. issued -> redirected (the link was opened;
-- opened again, a new state replaces the old) -> checking (one callback took it) -> verified (the
-- provider's answer passed every check) -> approved (decide-request.ts spent it); or refused.
-- Nothing moves back.
CREATE TABLE IF NOT EXISTS step_up_challenges (
  id TEXT NOT NULL PRIMARY KEY,      -- random, named in the audit events
  link_hash TEXT NOT NULL UNIQUE,    -- SHA-256 hex of the link's secret
  request_id INTEGER NOT NULL,
  step INTEGER NOT NULL,             -- the approval step the click was for
  user_id TEXT NOT NULL,
  oidc_subject TEXT NOT NULL,        -- <issuer>#<sub> linked to the user at the click
  decision_json TEXT NOT NULL,       -- the approval's comment, as and not_before
  status TEXT NOT NULL CHECK (status IN ('issued', 'redirected', 'checking', 'verified', 'approved', 'refused')),
  state_hash TEXT,                   -- SHA-256 hex of the OAuth state sent to the provider
  browser_hash TEXT,                 -- SHA-256 hex of the cookie the link set in the browser
  nonce TEXT,
  code_verifier TEXT,                -- PKCE (RFC 7636), never sent anywhere but the token endpoint
  auth_time TEXT,                    -- the provider's auth_time, once verified
  created_at TEXT NOT NULL,
  expires_at TEXT NOT NULL,
  updated_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS step_up_challenges_state ON step_up_challenges (state_hash);

INSERT INTO schema_version (version, applied_at) SELECT 1, '1970-01-01T00:00:00.000Z'
  WHERE NOT EXISTS (SELECT 1 FROM schema_version WHERE version = 1);
