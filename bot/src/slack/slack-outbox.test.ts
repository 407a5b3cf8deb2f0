import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { pino } from "pino";
import type { Delivery } from "./delivery.ts";
import { SlackOutbox } from "./slack-outbox.ts";

describe("the listener answers' outbox", () => {
  test("writes a lane's answers one after another, in the order given, however fast each write is", async () => {
    const stored: string[] = [];
    // The first write is the slowest, as an insert over a pool may be: a second one sent at once would land first.
    let delay = 30;
    const outbox = new SlackOutbox(
      async (deliveries: readonly Delivery[]) => {
        const wait = delay;
        delay = Math.max(0, delay - 10);
        await new Promise((r) => setTimeout(r, wait));
        for (const d of deliveries) if (d.kind === "reply") stored.push(`${d.lane}:${d.message.text}`);
      },
      pino({ level: "silent" }),
    );
    const to = { via: "dm", user: "U1" } as const;
    outbox.reply("trigger:1", to, { text: "there is no request #9", blocks: [] });
    outbox.reply("trigger:1", to, { text: "your SQL, to fix", blocks: [] });
    outbox.reply("trigger:1", to, { text: "third", blocks: [] });
    await outbox.idle();
    assert.deepEqual(stored, [
      "trigger:1:there is no request #9",
      "trigger:1:your SQL, to fix",
      "trigger:1:third",
    ]);
  });

  test("a failed write is logged and does not hold the lane's later answers", async () => {
    const stored: string[] = [];
    let first = true;
    const outbox = new SlackOutbox(
      async (deliveries: readonly Delivery[]) => {
        if (first) {
          first = false;
          throw new Error("store refused");
        }
        for (const d of deliveries) if (d.kind === "reply") stored.push(d.message.text);
      },
      pino({ level: "silent" }),
    );
    const to = { via: "dm", user: "U1" } as const;
    outbox.reply("trigger:2", to, { text: "lost", blocks: [] });
    outbox.reply("trigger:2", to, { text: "kept", blocks: [] });
    await outbox.idle();
    assert.deepEqual(stored, ["kept"]);
  });
});
