/**
 * How the Slack adapter queues what must reach a person: outbox rows written to the store (the
 * sender delivers them, slack-sender.ts). A request's own deliveries are written inside the
 * transaction of its change (main.ts wires `recordChange`); this is for the rest: a listener's
 * answer, a Home tab, a join request's DMs, queued as soon as they are known.
 */
import type { Logger } from "pino";
import type { Delivery, ReplyTarget } from "./delivery.ts";
import type { SlackMessage } from "./views/blocks.ts";

export class SlackOutbox {
  private readonly writing = new Set<Promise<void>>();
  /** The newest answer of each lane still being written. */
  private readonly lastInLane = new Map<string, Promise<void>>();

  constructor(
    /** Writes the rows and wakes the sender. */
    private readonly write: (deliveries: readonly Delivery[]) => Promise<void>,
    private readonly logger: Logger,
  ) {}

  /** Queues deliveries and resolves once they are in the store. */
  add(deliveries: readonly Delivery[]): Promise<void> {
    return this.write(deliveries);
  }

  /**
   * Queues a listener's answer without making the listener wait. Answers in one lane (one
   * interaction) go out in order. A store that refuses the row is logged: the person then sees
   * no answer, and nothing else is lost, since the answer reports a change that has committed.
   */
  reply(lane: string, to: ReplyTarget, m: SlackMessage): void {
    const message = { text: m.text, blocks: m.blocks as unknown as Record<string, unknown>[] };
    // Written after the lane's previous answer is in the store: rows go out in id order, and on
    // PostgreSQL state two inserts sent at once over the pool may commit in either order.
    const previous = this.lastInLane.get(lane) ?? Promise.resolve();
    const work = previous
      .then(() => this.write([{ kind: "reply", lane, to, message }]))
      .catch((err: unknown) => this.logger.error({ err, lane }, "could not queue a Slack answer"))
      .finally(() => {
        this.writing.delete(work);
        if (this.lastInLane.get(lane) === work) this.lastInLane.delete(lane);
      });
    this.lastInLane.set(lane, work);
    this.writing.add(work);
  }

  /** Resolves when every answer queued so far is in the store. */
  async idle(): Promise<void> {
    while (this.writing.size > 0) await Promise.allSettled([...this.writing]);
  }
}
