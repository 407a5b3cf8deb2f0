/** The one place error codes become HTTP statuses. */
import { DbwardError, type ErrorBody, type ErrorCode } from "@dbward/shared";

const STATUS: Record<ErrorCode, number> = {
  "request.invalid": 400,
  "request.not_found": 404,
  "request.invalid_transition": 409,
  "request.no_workflow": 422,
  "request.too_large": 413,
  "request.self_approval": 403,
  "request.already_decided": 409,
  "auth.missing": 401,
  "auth.invalid": 401,
  "auth.forbidden": 403,
  "auth.suspended": 403,
  "token.malformed": 400,
  "token.bad_header": 400,
  "token.unknown_key": 400,
  "token.bad_signature": 400,
  "token.expired": 400,
  "token.not_yet_valid": 400,
  "token.lifetime": 400,
  "token.sql_mismatch": 400,
  "token.agent_mismatch": 400,
  "token.capability": 400,
  "token.replayed": 400,
  "sql.rejected": 422,
  "sql.unverified": 422,
  "config.invalid": 500,
  "install.incomplete": 500,
  "job.not_found": 404,
  "job.lease_lost": 409,
  "execution.failed": 500,
  "execution.timeout": 504,
  "rate.limited": 429,
  internal: 500,
  "user.exists": 409,
  "user.managed_elsewhere": 409,
  "quota.exceeded": 409,
  "join.not_pending": 409,
  "execution.cancelled": 409,
  "job.chunk_out_of_order": 409,
  "result.expired": 410,
  "user.not_found": 404,
  "api_token.not_found": 404,
  "join.not_found": 404,
  "execution.limit_reached": 409,
  "agent.session_conflict": 409,
  "request.idempotency_conflict": 409,
  "token.purpose_mismatch": 400,
  "execution.row_guard": 409,
  "preflight.not_found": 404,
  "request.awaiting_count": 409,
  "schema.not_found": 404,
  "approval.step_up_required": 403,
  "approval.step_up_unavailable": 403,
  "masking.unknown_column": 422,
  "signing.unavailable": 503,
  "state.undecryptable": 500,
};

export function toHttpError(err: unknown): { status: number; body: ErrorBody } {
  if (err instanceof DbwardError) {
    return {
      status: STATUS[err.code],
      body: {
        error: { code: err.code, message: err.message, ...(err.details ? { details: err.details } : {}) },
      },
    };
  }
  const e = err as { type?: string; status?: number };
  // body-parser's own errors: too large, or not JSON.
  if (e.type === "entity.too.large")
    return {
      status: 413,
      body: { error: { code: "request.too_large", message: "request body is too large" } },
    };
  if (e.type === "entity.parse.failed")
    return {
      status: 400,
      body: { error: { code: "request.invalid", message: "request body is not valid JSON" } },
    };
  if (typeof e.status === "number" && e.status >= 400 && e.status < 500) {
    return {
      status: e.status,
      body: { error: { code: "request.invalid", message: "the request could not be read" } },
    };
  }
  return {
    status: 500,
    body: { error: { code: "internal", message: "internal error; the bot's log has the details" } },
  };
}
