/**
 * Read the audit chain through the API (`audit.read`), a page at a time, filtered by actor,
 * action (exact, or a prefix ending in `*`), target and time range.
 */
import { DbwardError, type AuditEventView } from "@dbward/shared";
import { openAuditEvent } from "../crypto/seal-audit-details.ts";
import { listAudit, toAuditEventView, type AuditQuery } from "../audit/audit-log.ts";
import type { BotContext } from "./bot-context.ts";
import { actorOf, can, type UserCaller } from "./caller.ts";
import { recordDenial } from "./record-denial.ts";

/** The query string of GET /api/audit, each value still to be validated. */
export interface AuditFilterInput {
  readonly after?: unknown;
  readonly limit?: unknown;
  readonly target?: unknown;
  readonly actor?: unknown;
  readonly action?: unknown;
  readonly since?: unknown;
  readonly until?: unknown;
}

export async function listAuditEvents(
  ctx: BotContext,
  caller: UserCaller,
  input: AuditFilterInput,
): Promise<AuditEventView[]> {
  if (!can(caller, "audit.read")) {
    return recordDenial(ctx, {
      actor: actorOf(caller),
      action: "audit.read_refused",
      target: "",
      error: new DbwardError("auth.forbidden", "only operators and admins can read the audit log"),
    });
  }
  // Readers with the key see sealed free text in the clear (crypto/seal-audit-details.ts).
  return (await listAudit(ctx.store, parseAuditQuery(input))).map((e) =>
    toAuditEventView(openAuditEvent(ctx.store, e)),
  );
}

export function parseAuditQuery(input: AuditFilterInput): AuditQuery {
  const after = input.after === undefined ? 0 : Number(input.after);
  const limit = input.limit === undefined ? 100 : Number(input.limit);
  if (!Number.isInteger(after) || after < 0 || !Number.isInteger(limit) || limit < 1 || limit > 1000)
    throw new DbwardError("request.invalid", "after must be a sequence number and limit 1-1000");
  const since = time(input.since, "since");
  const until = time(input.until, "until");
  return {
    afterSeq: after,
    limit,
    ...optional("target", input.target),
    ...optional("actor", input.actor),
    ...optional("action", input.action),
    ...(since !== undefined ? { since } : {}),
    ...(until !== undefined ? { until } : {}),
  };
}

function optional<K extends string>(key: K, value: unknown): Partial<Record<K, string>> {
  if (value === undefined) return {};
  if (typeof value !== "string" || value === "" || value.length > 200)
    throw new DbwardError("request.invalid", `${key} must be a single value of 1-200 characters`);
  return { [key]: value } as Partial<Record<K, string>>;
}

/** Times are compared as the chain stores them: ISO 8601 UTC with milliseconds. */
function time(value: unknown, key: string): string | undefined {
  if (value === undefined) return undefined;
  const ms = typeof value === "string" && /^\d{4}-\d\d-\d\d/.test(value) ? Date.parse(value) : NaN;
  if (Number.isNaN(ms))
    throw new DbwardError("request.invalid", `${key} must be an ISO 8601 time such as 2024-05-01T00:00:00Z`);
  return new Date(ms).toISOString();
}
