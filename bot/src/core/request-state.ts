/**
 * The request state machine: one table of allowed transitions, one function that consults it.
 * Every status change in the bot goes through `transition`; the store then applies it with a
 * compare-and-set on the old status, so a transition decided here can still lose a race there
 * and is then refused, never applied twice.
 */
import type { RequestStatus } from "@dbward/shared";

export const REQUEST_EVENTS = [
  "approve_final", // the last required approval landed
  "auto_approve",
  "break_glass", // approval skipped by a permitted role with a written reason
  "reject",
  "cancel",
  "expire",
  "dispatch", // offered to agents
  "dispatch_timeout", // no agent claimed in time
  "claim",
  "exhaust_budget", // claimed over the execution policy's max_executions: refused, not run
  "refuse_unbounded", // claimed with no row bound to sign where its workflow needs one: refused, not run
  "succeed",
  "fail",
  "time_out",
  "lose", // lease expired without a result
  "retry", // an operator runs a lost request again: a new execution with a new token
] as const;
export type RequestEvent = (typeof REQUEST_EVENTS)[number];

type TransitionTable = {
  readonly [S in RequestStatus]: Partial<Readonly<Record<RequestEvent, RequestStatus>>>;
};

export const TRANSITIONS = {
  pending_approval: {
    approve_final: "approved",
    auto_approve: "approved",
    break_glass: "approved",
    reject: "rejected",
    cancel: "cancelled",
    expire: "expired",
  },
  approved: { dispatch: "dispatched", cancel: "cancelled", expire: "expired" },
  dispatched: {
    claim: "running",
    // Terminal: waiting in the queue would only have every capable agent claim it again.
    exhaust_budget: "failed",
    refuse_unbounded: "failed",
    dispatch_timeout: "approved",
    cancel: "cancelled",
    expire: "expired",
  },
  running: { succeed: "succeeded", fail: "failed", time_out: "timed_out", lose: "lost", cancel: "cancelled" },
  succeeded: {},
  failed: {},
  timed_out: {},
  // Never by itself (SECURITY.md: crash mid-execution): only an operator's explicit retry.
  lost: { retry: "approved" },
  rejected: {},
  expired: {},
  cancelled: {},
} as const satisfies TransitionTable;

export type TransitionResult =
  | { readonly ok: true; readonly from: RequestStatus; readonly to: RequestStatus }
  | { readonly ok: false; readonly from: RequestStatus; readonly event: RequestEvent };

export function transition(from: RequestStatus, event: RequestEvent): TransitionResult {
  const row: Partial<Record<RequestEvent, RequestStatus>> = TRANSITIONS[from];
  const to = row[event];
  return to === undefined ? { ok: false, from, event } : { ok: true, from, to };
}
