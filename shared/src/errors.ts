/**
 * Error codes shared by every dbward process. The codes are part of the HTTP protocol: the bot
 * sends them in `{ error: { code, message } }`, the CLI maps them to exit codes, the agent
 * reports them in results. Add codes; never rename one.
 */
export const ERROR_CODES = [
  "request.invalid",
  "request.not_found",
  "request.invalid_transition",
  "request.no_workflow",
  "request.too_large",
  "request.self_approval",
  "request.already_decided",
  "auth.missing",
  "auth.invalid",
  "auth.forbidden",
  "auth.suspended",
  "token.malformed",
  "token.bad_header",
  "token.unknown_key",
  "token.bad_signature",
  "token.expired",
  "token.not_yet_valid",
  "token.lifetime",
  "token.sql_mismatch",
  "token.agent_mismatch",
  "token.capability",
  "token.replayed",
  "sql.rejected",
  "sql.unverified",
  "config.invalid",
  "job.not_found",
  "job.lease_lost",
  "execution.failed",
  "execution.timeout",
  "rate.limited",
  "internal",
  "user.exists",
  "user.managed_elsewhere",
  "quota.exceeded",
  "join.not_pending",
  "execution.cancelled",
  "job.chunk_out_of_order",
  "result.expired",
  /** No user with that id: a person, never a request. */
  "user.not_found",
  /** No API token with that id (the `tok_…` id, never the secret). */
  "api_token.not_found",
  /** No join request with that id. */
  "join.not_found",
  /**
   * The execution policy's `max_executions` budget for the database × environment was spent when
   * an agent claimed the job: the request is failed without running, never offered again.
   */
  "execution.limit_reached",
  /**
   * Another process (another data directory) is already polling with this agent id; one agent id
   * is one process, so its ledger of executed tokens is the only one.
   */
  "agent.session_conflict",
  /**
   * An `Idempotency-Key` the same requester already used, within its 24 hours, for a request with
   * a different body: the key names one request, so the second body is refused, never created.
   */
  "request.idempotency_conflict",
  /**
   * A file dbward reads at run time (schema.sql, manifest.yml, its package.json) is missing from
   * the installation: not something a config or a request can fix; reinstall.
   */
  "install.incomplete",
  /**
   * A token signed for another kind of job: an execution token used for a preflight (EXPLAIN or
   * dry run) or the other way round, or a guard that disagrees with the job.
   */
  "token.purpose_mismatch",
  /**
   * A write changed more rows than the bound its token signs (the workflow's `max_rows`, or the
   * dry-run count with its tolerance): it was rolled back, nothing committed.
   */
  "execution.row_guard",
  /** A request has no plan (yet): none is made for it, planning failed, or it is still pending. */
  "preflight.not_found",
  /**
   * An approval of a write whose workflow bounds it by its dry run's count, before that count is
   * in (or after the dry run failed): approvers approve the count too, so it must be shown first.
   */
  "request.awaiting_count",
  /** No agent has reported the schema of this database × environment yet. */
  "schema.not_found",
  /**
   * A masking policy names a column the database does not have (a typo, a renamed column): the
   * agent cannot prove which result columns it covers, so the job is refused rather than run
   * with that column in the clear.
   */
  "masking.unknown_column",
  /**
   * An approval under a workflow with `step_up` made without a fresh sign-in at the identity
   * provider: approve through the private link the Slack click answers with, or with the bearer
   * of a `dbward login` made within the step-up's max_age.
   */
  "approval.step_up_required",
  /** A step-up approval by someone with no identity provider subject linked to their dbward user. */
  "approval.step_up_unavailable",
  /**
   * The token or checkpoint signer did not sign (an HSM unplugged or failing, or a signature that
   * does not verify): nothing was signed or recorded; retry once the signer is back.
   */
  "signing.unavailable",
  /**
   * A value in the encrypted state store does not open under its data key (a wrong key, a changed
   * byte, a ciphertext moved from another row): it is not shown, and the log names its place.
   */
  "state.undecryptable",
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === "string" && (ERROR_CODES as readonly string[]).includes(value);
}

/** The one error type dbward throws across a use case boundary. */
export class DbwardError extends Error {
  override readonly name = "DbwardError";
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
  }
}

/** The JSON error body of every failed HTTP call. */
export interface ErrorBody {
  error: { code: ErrorCode; message: string; details?: Record<string, unknown> };
}
