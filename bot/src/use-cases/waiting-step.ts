/**
 * The step a pending request waits on, and since when: what the sweeper's reminders and
 * escalations are timed from. Read with whatever handle the caller holds, so a use case re-reads
 * it inside its write transaction.
 */
import { approvalProgress } from "../core/approval-decision.ts";
import { stepWaitingSince } from "../core/step-timers.ts";
import type { StepSnapshot } from "../core/workflow.ts";
import { listApprovals, type RequestRecord } from "../store/requests-repo.ts";

export interface WaitingStep {
  readonly index: number;
  readonly step: StepSnapshot;
  readonly since: Date;
}

export async function waitingStep(
  db: Parameters<typeof listApprovals>[0],
  r: RequestRecord,
): Promise<WaitingStep | undefined> {
  if (r.status !== "pending_approval") return undefined;
  const approved = (await listApprovals(db, r.id)).filter((a) => a.decision === "approved");
  const index = approvalProgress(r.workflow, approved).current;
  const step = index === undefined ? undefined : r.workflow.steps[index];
  if (index === undefined || step === undefined) return undefined;
  return { index, step, since: stepWaitingSince(r.createdAt, approved, index) };
}
