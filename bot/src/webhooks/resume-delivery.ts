/**
 * Turns a pending delivery (pending-deliveries.ts) into its next attempt, or into a recorded
 * reason why there is none. Fail-closed: the webhook must still be in the current config under
 * the same name and still subscribe to the event for that database and environment, or nothing
 * is sent; a retry never goes to a destination the running config does not name. The body is
 * rebuilt from the stored audit event, exactly as the first attempt built it.
 *
 * An attempt a crash left `sending` may have reached the receiver. It is sent again as the next
 * attempt (at-least-once): receivers drop duplicates by X-Dbward-Delivery, which every attempt of
 * a delivery shares. The old row is marked failed first, so the records never show two attempts
 * in flight.
 */
import type { BotContext } from "../use-cases/bot-context.ts";
import type { Pending, PendingRow } from "./pending-deliveries.ts";
import { INTERRUPTED, dropRetry, markInterrupted } from "./webhook-deliveries.ts";
import { eventBody, jobFor, loadAudit, loadEvent, subscribes, type Job } from "./webhook-event.ts";

export type Resumption =
  | { readonly kind: "send"; readonly job: Job }
  /** Not retried; the row says why. `reason` is the metrics label. */
  | { readonly kind: "dropped"; readonly reason: string }
  /** The row moved on meanwhile (another process finished the attempt): nothing to do here. */
  | { readonly kind: "taken" };

type Verdict =
  | { readonly kind: "send"; readonly job: Job }
  | { readonly kind: "drop"; readonly why: string; readonly reason: string };

export async function resumeDelivery(ctx: BotContext, p: Pending): Promise<Resumption> {
  let error = p.row.error;
  if (p.kind === "interrupted") {
    if (!(await markInterrupted(ctx.store, p.row.id, ctx.clock.now()))) return { kind: "taken" };
    error = INTERRUPTED;
  }
  const verdict = await nextAttempt(ctx, p.row);
  if (verdict.kind === "send") return verdict;
  await dropRetry(ctx.store, p.row.id, error, verdict.why);
  return { kind: "dropped", reason: verdict.reason };
}

async function nextAttempt(ctx: BotContext, row: PendingRow): Promise<Verdict> {
  const config = ctx.config();
  const hook = config.webhooks.find((w) => w.name === row.webhook);
  if (hook === undefined) {
    return {
      kind: "drop",
      why: `webhook ${row.webhook} is no longer in the config`,
      reason: "webhook_removed",
    };
  }
  if (row.attempt >= hook.max_attempts) {
    const why = `webhook ${hook.name} allows ${hook.max_attempts} attempt${hook.max_attempts === 1 ? "" : "s"}`;
    return { kind: "drop", why, reason: "max_attempts" };
  }
  const audit = await loadAudit(ctx.store, row.auditSeq);
  const event = audit === undefined ? undefined : await loadEvent(ctx.store, audit);
  if (event === undefined || event.type !== row.event || event.request.id !== row.requestId) {
    const why = `audit event ${row.auditSeq} or its request is no longer in the store`;
    return { kind: "drop", why, reason: "event_missing" };
  }
  if (!subscribes(hook, event)) {
    const where = `${event.request.database}/${event.request.environment}`;
    const why = `webhook ${hook.name} no longer subscribes to ${event.type} on ${where}`;
    return { kind: "drop", why, reason: "unsubscribed" };
  }
  return { kind: "send", job: jobFor(hook, event, eventBody(event, config), row.attempt + 1) };
}
