/** The CLI's exit codes (documented in docs/cli.md). Scripts may rely on them. */
import type { ErrorCode } from "@dbward/shared";

export const EXIT = {
  ok: 0,
  failure: 1,
  usage: 2,
  auth: 3,
  notFound: 4,
  refused: 5,
  auditBroken: 6,
  unreachable: 7,
} as const;

export function exitCodeFor(code: ErrorCode): number {
  if (code.startsWith("auth.")) return EXIT.auth;
  if (
    [
      "request.not_found",
      "job.not_found",
      "result.expired",
      "user.not_found",
      "api_token.not_found",
      "join.not_found",
    ].includes(code)
  )
    return EXIT.notFound;
  if (code === "request.invalid") return EXIT.usage;
  if (
    [
      "request.invalid_transition",
      "request.no_workflow",
      "sql.rejected",
      "sql.unverified",
      "request.self_approval",
      "request.already_decided",
      "request.too_large",
      "user.exists",
      "user.managed_elsewhere",
      "quota.exceeded",
      "join.not_pending",
      "execution.limit_reached",
      "request.idempotency_conflict",
    ].includes(code)
  ) {
    return EXIT.refused;
  }
  return EXIT.failure;
}
