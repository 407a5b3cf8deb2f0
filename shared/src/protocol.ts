/**
 * The HTTP protocol between the bot and its clients (CLI, MCP, agents). Both sides import these
 * types; neither side imports the other's code. All bodies are JSON; all errors are `ErrorBody`
 * (errors.ts). Times are ISO 8601 UTC strings; durations are milliseconds.
 */
import type { AuditOutcome } from "./audit-chain.ts";
import type { OperationClass } from "./operation-class.ts";
import type { RequestStatus } from "./request-status.ts";
import type { SqlClass, SqlFinding, SqlRisk } from "./sql/review.ts";

/** Largest accepted JSON body for request creation and results' framing (SECURITY.md: flooding). */
export const MAX_REQUEST_BODY_BYTES = 100 * 1024;
/** Largest accepted body for a result submission. */
export const MAX_RESULT_BODY_BYTES = 16 * 1024 * 1024;
/** The longest an agent's poll may wait on the bot. */
export const MAX_POLL_WAIT_MS = 30_000;

// ---- CLI / MCP → bot -----------------------------------------------------------------------

/** POST /api/requests */
export interface CreateRequestBody {
  database: string;
  environment: string;
  sql: string;
  reason: string;
}

/** One approval step and how far it has come. */
export interface StepView {
  name: string;
  /** `any`: `min` approvals from anyone the selectors match; `all`: `min` for each selector. */
  mode: "any" | "all";
  min: number;
  /** `role:approver`, `group:dba`, `user:bob`. */
  approvers: string[];
  approved_by: string[];
  satisfied: boolean;
}

export interface WorkflowView {
  name: string;
  /** `never`, `always`, or `risk_at_most:<low|medium|high>`. */
  auto_approve: string;
  steps: StepView[];
  /** Index of the step now waiting for approvals, or null. */
  current_step: number | null;
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
}

/** GET /api/requests */
export interface RequestListView {
  requests: RequestView[];
}

/** POST /api/requests/:id/approve */
export interface ApproveBody {
  comment?: string;
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

/** GET /api/requests/:id/result */
export interface ResultView extends ResultTable {
  request_id: number;
  execution: number;
  duration_ms: number;
}

/** GET /api/public-key */
export interface PublicKeysView {
  keys: { kid: string; alg: "EdDSA"; public_key: string }[];
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

/** GET /api/audit */
export interface AuditListView {
  events: AuditEventView[];
}

/** POST /api/tokens (admin) */
export interface CreateTokenBody {
  user: string;
  name: string;
  expires_in_days?: number;
}
export interface CreatedTokenView {
  id: string;
  user: string;
  name: string;
  token: string;
  expires_at: string | null;
}

// ---- agent → bot ---------------------------------------------------------------------------

/** One capability line of an agent: databases it can reach and what it may run there. */
export interface AgentCapability {
  database: string;
  environment: string;
  operations: OperationClass[];
}

/** POST /api/agent/poll — waits up to `wait_ms` for work matching the capabilities. */
export interface PollBody {
  capabilities: AgentCapability[];
  wait_ms: number;
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
}

/** POST /api/agent/jobs/:job_id/heartbeat */
export interface HeartbeatResponse {
  lease_expires_at: string;
  /** True when the request was cancelled: the agent should stop the query. */
  cancel: boolean;
}

export const JOB_OUTCOMES = ["succeeded", "failed", "timed_out", "refused", "cancelled"] as const;
export type JobOutcome = (typeof JOB_OUTCOMES)[number];

/** POST /api/agent/jobs/:job_id/result */
export interface JobResultBody {
  outcome: JobOutcome;
  duration_ms: number;
  result?: ResultTable;
  /** For writes: rows affected. */
  affected_rows?: number;
  error?: { code: string; message: string };
}
