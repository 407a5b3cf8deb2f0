/**
 * The step after a request is approved (by its last approver, by auto-approval or break-glass, or
 * by its requester's "Run now"): dispatch it to the agents if it may run now, or leave it
 * approved and say what it waits for (run-schedule.ts). Inside the caller's transaction, so the
 * approval and the dispatch — or the deadline a `by_requester` request now runs against — commit
 * together.
 */
import { dispatchReadiness, runDeadline } from "../core/run-schedule.ts";
import type { Tx } from "../store/in-transaction.ts";
import { setRunSchedule, type RequestRecord } from "../store/requests-repo.ts";
import { applyTransition } from "./apply-transition.ts";

export async function dispatchWhenReady(
  tx: Tx,
  approved: RequestRecord,
  now: Date,
  details?: Record<string, unknown>,
): Promise<RequestRecord> {
  const readiness = dispatchReadiness(approved, now);
  if (readiness.ready) {
    return applyTransition(tx, approved, {
      event: "dispatch",
      actor: "system",
      action: "request.dispatched",
      now,
      ...(details !== undefined ? { details } : {}),
    });
  }
  if (readiness.waitingFor === "requester" && approved.runBy === null) {
    const runBy = runDeadline(approved.workflow, now, approved.notBefore);
    await setRunSchedule(tx, approved.id, { runBy });
    return { ...approved, runBy };
  }
  return approved;
}
