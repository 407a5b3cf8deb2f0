/**
 * The HTTP protocol between the bot and its clients (CLI, MCP, agents). Both sides import these
 * types; neither side imports the other's code. All bodies are JSON; all errors are `ErrorBody`
 * (errors.ts). Times are ISO 8601 UTC strings; durations are milliseconds.
 */
import type { AuditOutcome } from "./audit-chain.ts";
import type { OperationClass } from "./operation-class.ts";
import type { PlanEngine, PlanSummary } from "./plan-summary.ts";
import type { RequestStatus } from "./request-status.ts";
import type { SqlClass, SqlFinding, SqlRisk } from "./sql/review.ts";

/** Largest accepted JSON body for request creation and results' framing (SECURITY.md: flooding). */
export const MAX_REQUEST_BODY_BYTES = 100 * 1024;
/** Largest accepted body for a result submission. */
export const MAX_RESULT_BODY_BYTES = 16 * 1024 * 1024;
/** The longest an agent's poll may wait on the bot. */
export const MAX_POLL_WAIT_MS = 30_000;
/**
 * Largest rows of one result chunk (POST /api/agent/jobs/:job_id/result/chunks/:seq): an NDJSON
 * body, or a CSV chunk's rows after its head line (at most MAX_CSV_HEAD_BYTES more), so a row
 * that fits as NDJSON fits as CSV too.
 */
export const MAX_RESULT_CHUNK_BYTES = 8 * 1024 * 1024;
/** Most rows the JSON answer of GET /api/requests/:id/result carries (`?limit=`, default 1000). */
export const MAX_RESULT_PREVIEW_ROWS = 10_000;

/**
 * Why a stored result holds fewer rows than the statement produced: the execution policy's row
 * cap, its byte cap, or rows the agent could not deliver to the bot (it was unreachable for
 * longer than the agent's retry time, or the bot lost chunks).
 */
export const RESULT_TRUNCATIONS = ["rows", "bytes", "undelivered"] as const;
export type ResultTruncation = (typeof RESULT_TRUNCATIONS)[number];
/** Formats of GET /api/requests/:id/result?format=…, streamed whatever the result's size. */
export const RESULT_FORMATS = ["csv", "ndjson", "json"] as const;
export type ResultFormat = (typeof RESULT_FORMATS)[number];

// ---- CLI / MCP → bot -----------------------------------------------------------------------

/**
 * POST /api/requests. An optional `Idempotency-Key` header (IDEMPOTENCY_KEY_PATTERN) makes a
 * retry with the same body answer the request the first call created (docs/api.md).
 */
export interface CreateRequestBody {
  database: string;
  environment: string;
  sql: string;
  reason: string;
  /** Skip approval: only for roles the workflow names in `break_glass_roles`. */
  break_glass?: boolean;
  /** The written reason breaking the glass needs (at least 10 characters). */
  break_glass_reason?: string;
  /**
   * Run again: the id of a finished request of the caller's own that this one repeats. The new
   * request goes through its workflow like any other; the SQL may differ from the original's.
   */
  rerun_of?: number;
}

/** An `Idempotency-Key` header value: 1-255 printable ASCII characters (0x20-0x7E). */
export const IDEMPOTENCY_KEY_PATTERN = /^[\x20-\x7e]{1,255}$/;
/** How long the bot remembers an `Idempotency-Key` after the request it created. */
export const IDEMPOTENCY_KEY_TTL_MS = 24 * 60 * 60 * 1000;
/** The answer header of a call that an `Idempotency-Key` replayed: nothing new was created. */
export const IDEMPOTENT_REPLAYED_HEADER = "idempotent-replayed";

/** POST /api/preflight: what would happen to this SQL, without creating anything. */
export interface PreflightBody {
  database: string;
  environment: string;
  sql: string;
}

/** One approval step and how far it has come. */
export interface StepView {
  name: string;
  /** `any`: `min` approvals from anyone the selectors match; `all`: `min` for each selector. */
  mode: "any" | "all";
  min: number;
  /** `role:approver`, `group:dba`, `user:bob`. */
  approvers: string[];
  /** Selectors the step escalated to (`escalate_after`): they may decide too. Empty until then. */
  escalated_to: string[];
  approved_by: string[];
  satisfied: boolean;
  /** The dry run's count when it waived this step (under its `min_rows`); null otherwise. */
  waived_for_rows: number | null;
}

/**
 * When an approved request runs: `on_approval`, as soon as the last approval lands (and any
 * approver's "not before" has passed); `by_requester`, when its requester asks for it (Run now,
 * `dbward request run`, the MCP tool) within the workflow's `run_within`.
 */
export const RUN_MODES = ["on_approval", "by_requester"] as const;
export type RunMode = (typeof RUN_MODES)[number];

export interface WorkflowView {
  name: string;
  /** `never`, `always`, or `risk_at_most:<low|medium|high>`. */
  auto_approve: string;
  steps: StepView[];
  /** Index of the step now waiting for approvals, or null. */
  current_step: number | null;
  /**
   * For a write under a workflow with `max_rows` and/or `guard: dry_run_count`: the most rows it
   * may change (the lower of `max_rows` and the dry run's count plus its tolerance), signed into
   * its execution token; the agent rolls back a write that changes more. Null: no guard, or the
   * count it rests on is not in yet (`row_guard_from_dry_run` says so).
   */
  row_guard: number | null;
  /** The workflow bounds writes by the dry run's count, with this tolerance (whole percent); null: it does not. */
  row_guard_from_dry_run: { tolerance_percent: number } | null;
  /** When an approved request under this workflow runs (RUN_MODES). */
  run: RunMode;
  /**
   * `oidc`: each approval of this request counts only after the approver signed in again at the
   * identity provider (the workflow's `step_up`, for this request's risk). Absent: it does not.
   */
  step_up?: "oidc";
}

/** When an approved request may run, and whether its requester has asked for it yet. */
export interface RunScheduleView {
  /** A `by_requester` request not yet run: the time it expires unless its requester runs it. */
  run_by: string | null;
  /** When its requester asked for it to run (`by_requester` only), or null. */
  run_requested_at: string | null;
  /** The latest "not before" an approver attached: the bot dispatches it no earlier. */
  not_before: string | null;
}

export interface ApprovalView {
  approver: string;
  step: number;
  decision: "approved" | "rejected";
  comment: string | null;
  at: string;
}

export interface ExecutionView {
  number: number;
  agent: string;
  status: "running" | "succeeded" | "failed" | "timed_out" | "lost" | "cancelled";
  started_at: string;
  finished_at: string | null;
  /** Rows returned (reads). */
  row_count: number | null;
  /** Rows changed (writes). */
  affected_rows: number | null;
  duration_ms: number | null;
  error: { code: string; message: string } | null;
  /** What cut the stored result short (row cap, byte cap, the agent's delivery); null when whole. */
  result_truncated_by: ResultTruncation | null;
}

/** What GET /api/requests/:id returns, and every state-changing call answers with. */
export interface RequestView {
  id: number;
  status: RequestStatus;
  requester: string;
  database: string;
  environment: string;
  operation: OperationClass;
  sql: string;
  sql_sha256: string;
  reason: string;
  review: { class: SqlClass; risk: SqlRisk; findings: SqlFinding[] };
  workflow: WorkflowView;
  /** Set when approval was skipped by break-glass: the written reason. */
  break_glass_reason: string | null;
  limits: { statement_timeout_ms: number; row_cap: number };
  approvals: ApprovalView[];
  executions: ExecutionView[];
  created_at: string;
  updated_at: string;
  status_reason: string | null;
  /** The finished request this one runs again (Run again), or null. */
  rerun_of: number | null;
  run_schedule: RunScheduleView;
  /** The plans made for approvers before they decide (GET /api/requests/:id/plan has the whole plan). */
  preflights: PreflightView[];
  /**
   * The tables the statement names, from the agent's latest schema context (sizes, cascades);
   * empty when there is none or the statement could not be read. `schema_collected_at`: its age.
   */
  touched_tables: TouchedTableView[];
  schema_collected_at: string | null;
}

/** GET /api/requests */
export interface RequestListView {
  requests: RequestView[];
}

/** POST /api/requests/:id/approve */
export interface ApproveBody {
  comment?: string;
  /**
   * The selector to approve as (`group:dba`), for someone who matches several a step still needs;
   * without it the first is taken.
   */
  as?: string;
  /**
   * An ISO 8601 time with a zone (`2026-12-03T22:00:00Z`): the request is dispatched no earlier,
   * whichever approval it is; the latest of several approvers' windows holds.
   */
  not_before?: string;
}
/** POST /api/requests/:id/reject and /cancel */
export interface RejectBody {
  reason: string;
}

/** A result table as the agent produced it. */
export interface ResultTable {
  columns: string[];
  rows: unknown[][];
  row_count: number;
  truncated: boolean;
}

/**
 * GET /api/requests/:id/result without `format`: JSON, at most `?limit=` rows (default 1000). With
 * `format=csv|ndjson|json` the whole stored result is streamed instead (headers
 * `x-dbward-row-count`, `x-dbward-truncated`; NDJSON's first line is the column names).
 */
export interface ResultView extends ResultTable {
  request_id: number;
  execution: number;
  duration_ms: number;
  /** `row_count` is the stored result's size; `rows` may be only its first rows (a preview). */
  preview?: boolean;
  /** Why the stored result stops early, when `truncated`. */
  truncated_by?: ResultTruncation | null;
  /** Bytes of the stored result (NDJSON rows). */
  bytes?: number;
  /** When the result store deletes the rows (retention); null when never. */
  expires_at?: string | null;
}

/** GET /api/public-key */
export interface PublicKeysView {
  /** The key that signs now: what agents pin. */
  keys: { kid: string; alg: "EdDSA"; public_key: string }[];
  /**
   * Keys the bot signed with before a rotation, newest first, to verify the audit checkpoints
   * they signed. Never pin these in an agent.
   */
  retired: { kid: string; alg: "EdDSA"; public_key: string; first_used_at: string }[];
  /**
   * Every key whose audit checkpoints verify, newest first: the checkpoint keys, and the token
   * keys that signed checkpoints before checkpoints had a key of their own (only up to
   * `until_seq`). What `dbward audit verify --public-key` reads from this answer. Never pin these
   * in an agent: a checkpoint key signs no execution token.
   */
  checkpoint_keys: {
    kid: string;
    alg: "EdDSA";
    public_key: string;
    first_used_at: string;
    until_seq: number | null;
    current: boolean;
  }[];
}

export interface AuditEventView {
  seq: number;
  time: string;
  actor: string;
  action: string;
  target: string;
  outcome: AuditOutcome;
  details: Record<string, unknown>;
  prev_hash: string;
  hash: string;
}

/**
 * GET /api/audit?after=&limit=&target=&actor=&action=&since=&until= — `action` ending in `*` is
 * a prefix (`token.*`); `since` is inclusive and `until` exclusive, ISO 8601 times.
 */
export interface AuditListView {
  events: AuditEventView[];
}

/** POST /api/tokens: `user` defaults to the caller; naming someone else needs `token.manage`. */
export interface CreateTokenBody {
  user?: string;
  name: string;
  expires_in_days?: number;
  /** The ceiling: the token acts with at most these roles (its user's roles ∩ this set). */
  roles?: string[];
}
/** The answer to POST /api/tokens: the only time the secret is ever shown. */
export interface CreatedTokenView {
  id: string;
  user: string;
  name: string;
  token: string;
  expires_at: string | null;
  roles: string[] | null;
}

/** One token as GET /api/tokens lists it: never the secret, never its hash. */
export interface TokenView {
  id: string;
  kind: "user" | "agent";
  /** The user id (or agent id) the token acts as. */
  subject: string;
  name: string;
  /** The token's first characters, to tell tokens apart: `dbw_AbCdEfGh…`. */
  hint: string;
  roles: string[] | null;
  status: "active" | "expired" | "revoked";
  created_at: string;
  expires_at: string | null;
  revoked_at: string | null;
  last_used_at: string | null;
}

/** GET /api/tokens (own tokens; `?user=ID` or `?all=true` with `token.manage`) */
export interface TokenListView {
  tokens: TokenView[];
}

// ---- users, join requests, sign-in ----------------------------------------------------------

export type UserStatus = "active" | "suspended";

/** A dbward user as the admin API shows it. */
export interface UserView {
  id: string;
  name: string;
  email: string | null;
  slack_user_id: string | null;
  roles: string[];
  groups: string[];
  status: UserStatus;
  /** Who manages the record: `config` (the config file wins), `admin`, or `oidc` (just-in-time). */
  source: "config" | "admin" | "oidc";
  /** The identity provider subject this user signs in as, `<issuer>#<sub>`. */
  oidc_subject: string | null;
  created_at: string;
  updated_at: string;
}

/** GET /api/users */
export interface UserListView {
  users: UserView[];
}

/** POST /api/users */
export interface CreateUserBody {
  id: string;
  name: string;
  email?: string;
  slack_user_id?: string;
  roles: string[];
  groups?: string[];
  oidc_subject?: string;
}

/** PATCH /api/users/:id — only the fields given change; `null` clears an optional one. */
export interface UpdateUserBody {
  name?: string;
  email?: string | null;
  slack_user_id?: string | null;
  roles?: string[];
  groups?: string[];
  oidc_subject?: string | null;
}

/** POST /api/users/:id/suspend and /activate */
export interface UserStatusBody {
  reason: string;
}

/** What suspending did, in the one transaction that did it. */
export interface SuspensionView {
  user: UserView;
  cancelled_requests: number[];
  revoked_tokens: string[];
}

/** GET /api/me: who the bot thinks is calling, and with which effective roles. */
export interface MeView {
  user: UserView;
  /** The roles this call acts with (a token's ceiling narrows them). */
  roles: string[];
  permissions: string[];
  via: "api_token" | "slack" | "oidc" | "local";
}

export type JoinRequestStatus = "pending" | "approved" | "rejected" | "expired";

/** A person not yet known asking to join (from Slack). */
export interface JoinRequestView {
  id: string;
  slack_user_id: string;
  name: string;
  email: string | null;
  requested_role: string;
  groups: string[];
  reason: string;
  status: JoinRequestStatus;
  created_at: string;
  expires_at: string;
  decided_by: string | null;
  decided_at: string | null;
  decision_reason: string | null;
  /** The user created when the request was approved. */
  user_id: string | null;
}

/** GET /api/join-requests */
export interface JoinRequestListView {
  join_requests: JoinRequestView[];
}

/** POST /api/join-requests/:id/approve (`user_id` defaults from the name) and /reject */
export interface DecideJoinRequestBody {
  user_id?: string;
  reason?: string;
}

/**
 * GET /api/auth/oidc (no authentication): what `dbward login` needs to sign in with the
 * device authorization grant (RFC 8628). 404 when OIDC is not configured.
 */
export interface OidcLoginInfoView {
  issuer: string;
  client_id: string;
  scopes: string[];
  /** RFC 8707 resource indicator the CLI sends, when the identity provider needs one. */
  resource: string | null;
  /** Which token the CLI presents as its bearer. */
  bearer: "access_token" | "id_token";
}

// ---- agent → bot ---------------------------------------------------------------------------

/** One capability line of an agent: databases it can reach and what it may run there. */
export interface AgentCapability {
  database: string;
  environment: string;
  operations: OperationClass[];
}

/** A database an agent cannot reach now: it leaves that database's jobs to other agents. */
export interface DegradedDatabase {
  database: string;
  environment: string;
  /** The connection error, without the URL. */
  error: string;
  since: string;
}

/** POST /api/agent/poll — waits up to `wait_ms` for work matching the capabilities. */
export interface PollBody {
  capabilities: AgentCapability[];
  wait_ms: number;
  /** Databases the agent has lost its connection to; their capabilities are left out above. */
  degraded?: DegradedDatabase[];
  /** The agent's data-directory session (16-64 of `A-Za-z0-9_-`): one process per agent id. */
  session?: string;
  /** The preflight kinds this agent runs; without it, none is offered (older agents). */
  preflights?: PreflightKind[];
}

export interface JobOffer {
  /** Execution handle the agent claims with. */
  job_id: string;
  request_id: number;
  database: string;
  environment: string;
  operation: OperationClass;
}

export interface PollResponse {
  jobs: JobOffer[];
  /** Plans to make for pending requests; only to agents whose poll says `preflights: ["explain"]`. */
  preflights?: PreflightOffer[];
}

/**
 * The preflight kinds: work an agent does for approvers before they decide, never committing
 * anything. `explain`: the planner's estimate (EXPLAIN without ANALYZE), in a transaction that is
 * always rolled back. `dry_run`: a write run inside a transaction that is always rolled back, to
 * count the rows it changes (PostgreSQL and MySQL/MariaDB; enabled per database × environment on the bot and
 * consented to per database on the agent; never DDL).
 */
export const PREFLIGHT_KINDS = ["explain", "dry_run"] as const;
export type PreflightKind = (typeof PREFLIGHT_KINDS)[number];

/** A preflight the bot offers in a poll answer. */
export interface PreflightOffer {
  preflight_id: string;
  request_id: number;
  kind: PreflightKind;
  database: string;
  environment: string;
  operation: OperationClass;
}

/** What a foreign key does to the referencing rows when the referenced row is deleted or updated. */
export const FOREIGN_KEY_ACTIONS = ["no_action", "restrict", "cascade", "set_null", "set_default"] as const;
export type ForeignKeyAction = (typeof FOREIGN_KEY_ACTIONS)[number];

/** The most tables one schema report carries; a larger schema is cut there (`truncated`). */
export const MAX_SCHEMA_TABLES = 2000;

/**
 * The bounds of one reported table, which the bot checks and the agent cuts each table to before
 * it sends (a table over one bound would otherwise get the whole report refused).
 */
export const SCHEMA_TABLE_LIMITS = {
  /** Characters of a schema, table, column, key or index name, and of a column's type. */
  name: 256,
  /** Characters of one index column (an expression's text). */
  indexColumn: 1024,
  /** Columns of a key or an index. */
  keyColumns: 64,
  columns: 2000,
  foreignKeys: 256,
  indexes: 256,
} as const;

/** One table as the agent sees it in the database's catalogue. Nothing in it is a secret. */
export interface SchemaTable {
  /** The schema (PostgreSQL) or database (MySQL/MariaDB) the table is in. */
  schema: string;
  name: string;
  /** The planner's estimate (pg_class.reltuples, information_schema TABLE_ROWS); null when unknown. */
  estimated_rows: number | null;
  /** Table, indexes and TOAST together, in bytes; null when unknown. */
  size_bytes: number | null;
  columns: { name: string; type: string; nullable: boolean }[];
  primary_key: string[];
  /** This table's foreign keys: what it references, and what happens to its rows when that changes. */
  foreign_keys: {
    name: string;
    columns: string[];
    references: { schema: string; table: string; columns: string[] };
    on_delete: ForeignKeyAction;
    on_update: ForeignKeyAction;
  }[];
  indexes: { name: string; columns: string[]; unique: boolean }[];
}

/**
 * POST /api/agent/schema: the schema of one database × environment this agent serves, collected
 * on start, on a schedule and after a DDL it ran. The bot keeps the latest with its age.
 */
export interface SchemaReportBody {
  session?: string;
  database: string;
  environment: string;
  /** When the agent read the catalogue (ISO 8601). */
  collected_at: string;
  /** At most MAX_SCHEMA_TABLES, largest first; `truncated` when the database has more. */
  tables: SchemaTable[];
  truncated: boolean;
}

/** GET /api/schema/:database/:environment — only to people who may request there. */
export interface SchemaContextView {
  database: string;
  environment: string;
  agent: string;
  collected_at: string;
  received_at: string;
  truncated: boolean;
  tables: SchemaTable[];
}

/**
 * A table a request's statement names, with what the schema context knows of it and the tables
 * a DELETE or UPDATE of it changes through cascading foreign keys (transitively).
 */
export interface TouchedTableView {
  schema: string | null;
  name: string;
  /** Null when the schema context does not know the table (or there is no context). */
  estimated_rows: number | null;
  size_bytes: number | null;
  cascades: { schema: string; name: string; estimated_rows: number | null; action: ForeignKeyAction }[];
}

/**
 * POST /api/agent/preflights/:id/claim — to the one agent that won it: the SQL and a token
 * signed for that purpose (`purpose` is the kind: `explain` or `dry_run`), which an agent refuses
 * for an execution or for the other kind.
 */
export interface PreflightClaimResponse {
  preflight_id: string;
  request_id: number;
  kind: PreflightKind;
  token: string;
  sql: string;
  database: string;
  environment: string;
  operation: OperationClass;
  statement_timeout_ms: number;
}

/** POST /api/agent/preflights/:id/result: the raw plan or the dry run's count, or why there is none. */
export interface PreflightResultBody {
  session?: string;
  outcome: "succeeded" | "failed";
  duration_ms: number;
  /** With a succeeded `explain`: which EXPLAIN dialect `plan` is in, and the plan as EXPLAIN returned it. */
  engine?: PlanEngine;
  plan?: unknown;
  /** With a succeeded `dry_run`: the rows the statement changed before it was rolled back. */
  affected_rows?: number;
  error?: { code: string; message: string };
}

/** A preflight as people see it: the bot's summary of the plan (its own, from the raw plan). */
export interface PreflightView {
  kind: PreflightKind;
  status: "pending" | "running" | "succeeded" | "failed";
  agent: string | null;
  finished_at: string | null;
  duration_ms: number | null;
  /** A succeeded `explain`'s summary; null otherwise. */
  summary: PlanSummary | null;
  /** A succeeded `dry_run`'s count of changed rows (rolled back); null otherwise. */
  affected_rows: number | null;
  error: { code: string; message: string } | null;
}

/** POST /api/agent/jobs/:job_id/claim — answered only to the one agent that won the claim. */
export interface ClaimResponse {
  job_id: string;
  request_id: number;
  execution: number;
  token: string;
  sql: string;
  database: string;
  environment: string;
  operation: OperationClass;
  lease_expires_at: string;
  heartbeat_interval_ms: number;
  statement_timeout_ms: number;
  row_cap: number;
  /** The execution policy's cap on the result's NDJSON bytes; absent from older bots. */
  result_max_bytes?: number;
}

/**
 * POST /api/agent/jobs/:job_id/claim. `session` as in PollBody: while another session of the
 * agent id is live, the claim is refused with 409 `agent.session_conflict`.
 */
export interface ClaimBody {
  session?: string;
}

/** POST /api/agent/jobs/:job_id/heartbeat: `session` checked as for a claim. */
export interface HeartbeatBody {
  session?: string;
}

/** POST /api/agent/jobs/:job_id/heartbeat */
export interface HeartbeatResponse {
  lease_expires_at: string;
  /** True when the request was cancelled: the agent should stop the query. */
  cancel: boolean;
}

export const JOB_OUTCOMES = ["succeeded", "failed", "timed_out", "refused", "cancelled"] as const;
export type JobOutcome = (typeof JOB_OUTCOMES)[number];

/**
 * POST /api/agent/jobs/:job_id/result/chunks/:seq — body: rows in column order, at most
 * MAX_RESULT_CHUNK_BYTES, either NDJSON (one JSON array per line, each line ending in `\n`) or
 * CSV (a `%csv <kinds>` head line, then rows as PostgreSQL's COPY writes them: result-csv.ts);
 * the first byte tells them apart, and every chunk of a result has the same columns. `seq`
 * counts from 0 without gaps; a chunk sent again under a seq already stored is acknowledged and
 * not stored twice. 409 `job.chunk_out_of_order` names the seq expected; 409 `job.lease_lost`
 * means stop.
 */
export interface ResultChunkResponse {
  /** The seq the bot expects next. */
  next_seq: number;
  /** True when the request was cancelled: the chunk was not stored; stop the query. */
  cancel: boolean;
}

/** In the final result call: the rows that went up as chunks, as the agent counted them. */
export interface StreamedResultSummary {
  columns: string[];
  chunks: number;
  row_count: number;
  /** Bytes of all chunks as sent (NDJSON, or CSV with its head lines). */
  bytes: number;
  truncated_by: ResultTruncation | null;
}

/** POST /api/agent/jobs/:job_id/result: the result of the run, as the agent saw it end. */
export interface JobResultBody {
  /** As in PollBody: a result from a session that is not the live one is refused (409). */
  session?: string;
  outcome: JobOutcome;
  duration_ms: number;
  /** A small result inline (older agents); new agents stream rows as chunks (`streamed`). */
  result?: ResultTable;
  streamed?: StreamedResultSummary;
  /** For writes: rows affected. */
  affected_rows?: number;
  error?: { code: string; message: string };
}

/**
 * What an agent knows of a statement when it has no result to give, from its outcome journal
 * (written ahead of every report and fsynced):
 * - `succeeded_unreported`: the statement committed, but the agent stopped (a crash, a kill)
 *   before the bot took its result; the counts are known, the rows are not available;
 * - `unknown`: the statement started and the agent cannot tell whether it committed: it stopped
 *   while the statement ran, or the connection to the database broke during a write.
 */
export const LATE_OUTCOMES = ["succeeded_unreported", "unknown"] as const;
export type LateOutcome = (typeof LATE_OUTCOMES)[number];

/**
 * POST /api/agent/jobs/:job_id/result with `delivery: "late"`: the agent's account of a job
 * whose result never reached the bot. Sent after a restart for every journaled job the bot never
 * acknowledged, and at once for a write whose connection broke (`unknown`). The bot records it
 * once, however often it is sent, and shows it on every surface; nothing is re-run.
 */
export interface LateResultBody {
  delivery: "late";
  outcome: LateOutcome;
  /** As in PollBody. */
  session?: string;
  /** For `succeeded_unreported`: rows the statement changed, when the database reported it. */
  affected_rows?: number;
  /** For `succeeded_unreported`: rows the statement returned (none of them delivered). */
  row_count?: number;
  /** For `unknown`: why the agent cannot tell (the database's error, or the restart). */
  error?: { code: string; message: string };
  /** When the agent started the statement (its journal's `started` entry), ISO 8601. */
  started_at: string;
}

/** Either body of POST /api/agent/jobs/:job_id/result. */
export type ResultSubmission = JobResultBody | LateResultBody;

/**
 * The `error.code` an execution carries once a late result said what became of it, so every
 * surface can tell "executed, result not delivered" from "outcome unknown: check the target".
 */
export const LATE_OUTCOME_CODES = {
  succeeded_unreported: "execution.result_undelivered",
  unknown: "execution.outcome_unknown",
} as const satisfies Record<LateOutcome, string>;

/** The late outcome an execution's error code records, if it records one. */
export function lateOutcomeOf(code: string | null | undefined): LateOutcome | undefined {
  return LATE_OUTCOMES.find((o) => LATE_OUTCOME_CODES[o] === code);
}

/**
 * The header an agent names its session in on every POST (hold-agent-session.ts); result chunks
 * carry it there alone, since their body is the rows.
 */
export const SESSION_HEADER = "x-dbward-session";
