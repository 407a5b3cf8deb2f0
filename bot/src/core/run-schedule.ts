/**
 * When an approved request may be dispatched (SECURITY.md principle 2: fail closed). Pure.
 * Two things can hold an approved request back: its workflow says `run: by_requester` and its
 * requester has not asked for it to run yet, or an approver attached a "not before" that has not
 * passed. The execution token is only signed at dispatch, so while a request waits nothing that
 * could run it exists.
 */
import type { WorkflowSnapshot } from "./workflow.ts";

export interface RunScheduleFacts {
  readonly workflow: WorkflowSnapshot;
  readonly approvedAt: string | null;
  readonly runRequestedAt: string | null;
  readonly notBefore: string | null;
}

export type DispatchReadiness =
  | { readonly ready: true }
  | { readonly ready: false; readonly waitingFor: "requester" }
  | { readonly ready: false; readonly waitingFor: "window"; readonly until: string };

/** Whether the approved request may be dispatched at `now`, or what it waits for. */
export function dispatchReadiness(r: RunScheduleFacts, now: Date): DispatchReadiness {
  if (r.workflow.run === "by_requester" && r.runRequestedAt === null)
    return { ready: false, waitingFor: "requester" };
  if (r.notBefore !== null && Date.parse(r.notBefore) > now.getTime())
    return { ready: false, waitingFor: "window", until: r.notBefore };
  return { ready: true };
}

/**
 * From when the approved request's time to find an agent (`execution.approved_ttl_ms`) counts:
 * its approval, its requester's "Run now", or the end of its window, whichever is last. Undefined
 * while it waits for its requester: then only its `run_by` can expire it.
 */
export function readySince(r: RunScheduleFacts): number | undefined {
  if (r.workflow.run === "by_requester" && r.runRequestedAt === null) return undefined;
  const times = [r.approvedAt, r.runRequestedAt, r.notBefore].filter((t): t is string => t !== null);
  return times.length === 0 ? undefined : Math.max(...times.map((t) => Date.parse(t)));
}

/**
 * The `run_by` of a `by_requester` request approved at `approvedAt`: `run_within` from when it
 * first may run (its approval, or a later "not before").
 */
export function runDeadline(
  workflow: WorkflowSnapshot,
  approvedAt: Date,
  notBefore: string | null,
): string | null {
  if (workflow.run !== "by_requester") return null;
  const from = Math.max(approvedAt.getTime(), notBefore === null ? 0 : Date.parse(notBefore));
  return new Date(from + (workflow.run_within_ms ?? 0)).toISOString();
}

/** The longest an approver's "not before" may reach ahead: an approval is not a standing permission. */
export const MAX_NOT_BEFORE_AHEAD_MS = 7 * 86_400_000;

/**
 * An approver's "not before" as given (ISO 8601 with a zone), or why it is refused: it must lie
 * in the future and within seven days.
 */
export function parseNotBefore(
  text: string,
  now: Date,
): { ok: true; at: string } | { ok: false; why: string } {
  const m = /^(\d{4})-(\d{2})-(\d{2})T\d{2}:\d{2}(:\d{2}(\.\d{1,3})?)?(Z|[+-]\d{2}:\d{2})$/.exec(text);
  const ms = Date.parse(text);
  // Date.parse rolls 2026-02-30 over to March: a day the month does not have is refused.
  const real =
    m !== null &&
    new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]))).getUTCDate() === Number(m[3]);
  if (!real || Number.isNaN(ms))
    return {
      ok: false,
      why: `not_before must be a time with a zone, like 2026-12-03T22:00:00Z, not ${JSON.stringify(text)}`,
    };
  if (ms <= now.getTime()) return { ok: false, why: "not_before must lie in the future" };
  if (ms - now.getTime() > MAX_NOT_BEFORE_AHEAD_MS)
    return { ok: false, why: "not_before may lie at most 7 days ahead" };
  return { ok: true, at: new Date(ms).toISOString() };
}
