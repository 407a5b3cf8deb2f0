/**
 * One Slack delivery changes state once. Slack re-delivers what it believes was not acknowledged:
 * HTTP retries (`X-Slack-Retry-Num`) of events, Socket Mode re-deliveries, the same envelope on
 * another connection or instance. Bolt acks events before the listeners run and does not
 * deduplicate, so this outermost middleware does: the identity of each delivery is recorded in
 * the store, and a delivery seen before is acked and goes no further. A delivery with no
 * identity (an options request, a closed modal) changes nothing and passes.
 */
import type { AnyMiddlewareArgs, Middleware } from "@slack/bolt";
import type { Logger } from "pino";

/** `event:<event_id>` for Events API callbacks, `trigger:<trigger_id>` for commands and interactions. */
export function deliveryIdentity(body: unknown): string | undefined {
  if (typeof body !== "object" || body === null) return undefined;
  const b = body as Record<string, unknown>;
  const id = (v: unknown): v is string => typeof v === "string" && v.length > 0 && v.length <= 200;
  if (b.type === "event_callback") return id(b.event_id) ? `event:${b.event_id}` : undefined;
  return id(b.trigger_id) ? `trigger:${b.trigger_id}` : undefined;
}

type Ack = (response?: Record<string, unknown>) => Promise<void>;

export function dedupeDeliveries(
  isFirst: (identity: string) => Promise<boolean>,
  log: Logger,
): Middleware<AnyMiddlewareArgs> {
  return async (args) => {
    const identity = deliveryIdentity(args.body);
    if (identity === undefined || (await isFirst(identity))) {
      await args.next();
      return;
    }
    log.info({ identity }, "a Slack delivery arrived again; already handled");
    if ("ack" in args) await (args.ack as Ack)();
  };
}
