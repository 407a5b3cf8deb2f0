/**
 * The Slack outbox sender's test bed: a real store on the real schema.sql in a temporary
 * directory, a clock the test moves by hand (`now`), and senders stopped at tear-down.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openStore, type Store } from "../../bot/src/store/open-store.ts";
import { enqueueDeliveries, storeSlackOutbox } from "../../bot/src/store/slack-outbox-repo.ts";
import { route, type Delivery } from "../../bot/src/slack/delivery.ts";
import { SlackSender, type RunDelivery, type SenderOptions } from "../../bot/src/slack/slack-sender.ts";
import { pino } from "pino";

export const T0 = Date.parse("2026-12-01T10:00:00Z");

/** A listener's answer by DM: the simplest delivery, in its own lane per user unless named. */
export const dm = (user: string, text: string, lane = `interaction:${user}`): Delivery => ({
  kind: "reply",
  lane,
  to: { via: "dm", user },
  message: { text, blocks: [] },
});

export const textOf = (d: Delivery): string => (d.kind === "reply" ? d.message.text : d.kind);

export class OutboxTestbed {
  store!: Store;
  now = T0;
  readonly clock = { now: (): Date => new Date(this.now) };
  private dir = "";
  private readonly senders: SlackSender[] = [];

  /** `defaults`: the sender options every sender of this bed starts from. */
  constructor(private readonly defaults: Pick<SenderOptions, "retry" | "pollMs">) {}

  setUp(): void {
    this.dir = mkdtempSync(join(tmpdir(), "dbward-outbox-"));
    this.store = openStore(this.dir);
    this.now = T0;
  }

  async tearDown(): Promise<void> {
    for (const s of this.senders.splice(0)) await s.close();
    await this.store.destroy();
    rmSync(this.dir, { recursive: true, force: true });
  }

  add(...deliveries: Delivery[]): Promise<number> {
    return enqueueDeliveries(this.store, deliveries.map(route), this.clock.now());
  }

  /** A started sender over this bed's store and clock. */
  sender(run: RunDelivery, o: Partial<SenderOptions> = {}): SlackSender {
    const s = new SlackSender({
      store: storeSlackOutbox(this.store),
      clock: this.clock,
      logger: pino({ level: "silent" }),
      run,
      random: () => 1,
      ...this.defaults,
      ...o,
    });
    this.senders.push(s);
    s.start();
    return s;
  }
}
