/** Kysely's view of schema.sql. Keep in step with it; store/schema.test.ts checks the two agree. */
import type { Generated } from "kysely";

export interface UsersTable {
  id: string;
  display_name: string;
  email: string | null;
  slack_user_id: string | null;
  roles: string;
  groups_json: string;
  status: "active" | "suspended";
  source: "config" | "admin" | "oidc";
  created_at: string;
  updated_at: string;
  oidc_subject: string | null;
}

export interface ApiTokensTable {
  id: string;
  kind: "user" | "agent";
  subject: string;
  name: string;
  prefix: string;
  secret_sha256: string;
  created_at: string;
  expires_at: string | null;
  revoked_at: string | null;
  last_used_at: string | null;
  ceiling_roles: string | null;
  created_by: string | null;
}

export interface JoinRequestsTable {
  id: string;
  slack_user_id: string;
  display_name: string;
  email: string | null;
  requested_role: string;
  groups_json: string;
  reason: string;
  status: "pending" | "approved" | "rejected" | "expired";
  created_at: string;
  expires_at: string;
  decided_by: string | null;
  decided_at: string | null;
  decision_reason: string | null;
  user_id: string | null;
}

export interface RequestsTable {
  id: Generated<number>;
  status: string;
  requester: string;
  database_name: string;
  environment: string;
  operation: string;
  sql_text: string;
  sql_sha256: string;
  reason: string;
  review_json: string;
  workflow_json: string;
  limits_json: string;
  break_glass_reason: string | null;
  status_reason: string | null;
  created_at: string;
  updated_at: string;
  approved_at: string | null;
  dispatched_at: string | null;
  expires_at: string;
  /** The finished request this one runs again (Run again), or null. */
  rerun_of: number | null;
  /** `run: by_requester`, approved and not yet run: when it expires unless its requester runs it. */
  run_by: string | null;
  /** `run: by_requester`: when its requester asked for it to run. */
  run_requested_at: string | null;
  /** The latest "not before" an approver attached: dispatched no earlier. */
  not_before: string | null;
}

export interface PreflightsTable {
  id: string;
  request_id: number;
  kind: string;
  status: string;
  agent_id: string | null;
  token_id: string | null;
  created_at: string;
  claimed_at: string | null;
  lease_expires_at: string | null;
  finished_at: string | null;
  duration_ms: number | null;
  summary_json: string | null;
  plan_json: string | null;
  affected_rows: number | null;
  error_code: string | null;
  error_message: string | null;
}

export interface ApprovalsTable {
  request_id: number;
  step: number;
  approver: string;
  selector: string;
  decision: "approved" | "rejected";
  comment: string | null;
  created_at: string;
}

export interface ExecutionsTable {
  id: string;
  request_id: number;
  number: number;
  agent_id: string;
  token_id: string;
  status: string;
  claimed_at: string;
  lease_expires_at: string;
  finished_at: string | null;
  duration_ms: number | null;
  row_count: number | null;
  affected_rows: number | null;
  result_json: string | null;
  error_code: string | null;
  error_message: string | null;
  cancel_requested: Generated<number>;
  result_chunks: number | null;
  result_bytes: number | null;
  result_truncated_by: "rows" | "bytes" | "undelivered" | null;
  result_expires_at: string | null;
  result_purged_at: string | null;
  /** JSON array of the column names, sealed like result_json; set with chunk 0. */
  result_columns: string | null;
}

export interface AgentsTable {
  id: string;
  last_seen_at: string;
  capabilities_json: string;
  degraded_json: string | null;
}

export interface SchemaContextsTable {
  database_name: string;
  environment: string;
  agent_id: string;
  collected_at: string;
  received_at: string;
  truncated: number;
  tables_json: string;
  report_id: string | null;
}

export interface AgentSessionsTable {
  agent_id: string;
  session_id: string;
  last_seen_at: string;
}

export interface IdempotencyKeysTable {
  requester: string;
  key: string;
  body_sha256: string;
  request_id: number;
  created_at: string;
}

export interface AuditEventsTable {
  seq: number;
  time: string;
  actor: string;
  action: string;
  target: string;
  outcome: string;
  details: string;
  prev_hash: string;
  hash: string;
}

export interface AuditCheckpointsTable {
  seq: number;
  hash: string;
  time: string;
  kid: string;
  signature: string;
}

export interface AuditCheckpointStateTable {
  id: number;
  events_since_checkpoint: number;
}

export interface WebhookDeliveriesTable {
  id: Generated<number>;
  delivery_id: string;
  webhook: string;
  event: string;
  audit_seq: number;
  request_id: number;
  attempt: number;
  status: "sending" | "succeeded" | "failed" | "refused";
  http_status: number | null;
  error: string | null;
  started_at: string;
  finished_at: string | null;
  next_attempt_at: string | null;
}

export interface WebhookCursorTable {
  id: number;
  audit_seq: number;
  updated_at: string;
}

export interface SchemaVersionTable {
  version: number;
  applied_at: string;
}

export interface SlackMessagesTable {
  request_id: number;
  kind: "post" | "dm";
  user_id: string;
  channel: string;
  ts: string;
}

export interface RequestNudgesTable {
  request_id: number;
  kind: "reminder" | "expiry";
  step: number;
  round: number;
  created_at: string;
}

export interface ReminderDmsTable {
  request_id: number;
  step: number;
  user_id: string;
  channel: string;
  ts: string;
}

export interface ReminderSnoozesTable {
  request_id: number;
  user_id: string;
  until: string;
}

export interface SlackOutboxTable {
  id: Generated<number>;
  lane: string;
  coalesce_key: string | null;
  delivery: string;
  progress: Generated<string>;
  status: "pending" | "failed";
  attempts: Generated<number>;
  next_attempt_at: string;
  lease_until: string | null;
  lease_token: string | null;
  last_error: string | null;
  created_at: string;
  updated_at: string;
}

export interface SlackInboundSeenTable {
  identity: string;
  seen_at: string;
}

export interface SlackSignaturesSeenTable {
  signature: string;
  expires_at: string;
}

export interface RateBucketsTable {
  name: "request_create" | "auth_failures";
  key: string;
  milli_tokens: number;
  updated_ms: number;
}

export interface HomeTabsTable {
  slack_user_id: string;
  shows_joins: number;
  opened_at: string;
}

export interface HomeTabRequestsTable {
  slack_user_id: string;
  request_id: number;
}

export interface SigningKeysTable {
  kid: string;
  public_key: string;
  first_used_at: string;
  last_started_at: string;
  checkpoints_until_seq: number | null;
}

/** Keys that sign audit checkpoints (schema.sql `checkpoint_signing_keys`). */
export interface CheckpointSigningKeysTable {
  kid: string;
  public_key: string;
  first_used_at: string;
  last_started_at: string;
  /** The newest checkpoint it may have signed, once retired; null while current. */
  until_seq: number | null;
}

/** Result rows on PostgreSQL state (schema.sql `result_chunks`). */
export interface ResultChunksTable {
  result_key: string;
  seq: number;
  rows: number;
  bytes: number;
  data: Buffer;
}

/** Wrapped data keys of the encrypted state (schema.sql `state_keys`). */
export interface StateKeysTable {
  key_id: string;
  kek_id: string;
  wrapped: Buffer;
  active: number;
  created_at: string;
  wrapped_at: string;
}

/** One step-up approval in progress (schema.sql `step_up_challenges`). */
export interface StepUpChallengesTable {
  id: string;
  link_hash: string;
  request_id: number;
  step: number;
  user_id: string;
  oidc_subject: string;
  decision_json: string;
  status: "issued" | "redirected" | "checking" | "verified" | "approved" | "refused";
  state_hash: string | null;
  browser_hash: string | null;
  nonce: string | null;
  code_verifier: string | null;
  auth_time: string | null;
  created_at: string;
  expires_at: string;
  updated_at: string;
}

export interface Database {
  step_up_challenges: StepUpChallengesTable;
  state_keys: StateKeysTable;
  signing_keys: SigningKeysTable;
  checkpoint_signing_keys: CheckpointSigningKeysTable;
  slack_messages: SlackMessagesTable;
  request_nudges: RequestNudgesTable;
  reminder_dms: ReminderDmsTable;
  reminder_snoozes: ReminderSnoozesTable;
  slack_outbox: SlackOutboxTable;
  slack_inbound_seen: SlackInboundSeenTable;
  slack_signatures_seen: SlackSignaturesSeenTable;
  rate_buckets: RateBucketsTable;
  home_tabs: HomeTabsTable;
  home_tab_requests: HomeTabRequestsTable;
  users: UsersTable;
  api_tokens: ApiTokensTable;
  requests: RequestsTable;
  approvals: ApprovalsTable;
  executions: ExecutionsTable;
  preflights: PreflightsTable;
  agents: AgentsTable;
  schema_contexts: SchemaContextsTable;
  agent_sessions: AgentSessionsTable;
  audit_events: AuditEventsTable;
  audit_checkpoints: AuditCheckpointsTable;
  audit_checkpoint_state: AuditCheckpointStateTable;
  webhook_deliveries: WebhookDeliveriesTable;
  webhook_cursor: WebhookCursorTable;
  schema_version: SchemaVersionTable;
  join_requests: JoinRequestsTable;
  idempotency_keys: IdempotencyKeysTable;
  result_chunks: ResultChunksTable;
}
