import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { pino } from "pino";
import { AfterAck } from "./after-ack.ts";

describe("work after the ack", () => {
  test("runs jobs first in, first out, never more than its concurrency at once", async () => {
    const work = new AfterAck(pino({ level: "silent" }), 2);
    let running = 0;
    let peak = 0;
    const order: number[] = [];
    for (let i = 0; i < 6; i += 1) {
      work.run(async () => {
        running += 1;
        peak = Math.max(peak, running);
        order.push(i);
        await new Promise((r) => setTimeout(r, 5));
        running -= 1;
      });
    }
    await work.idle();
    assert.equal(peak, 2);
    assert.deepEqual(order, [0, 1, 2, 3, 4, 5]);
  });

  test("a failing job does not stop the ones after it", async () => {
    const work = new AfterAck(pino({ level: "silent" }));
    let ran = false;
    work.run(() => Promise.reject(new Error("boom")));
    work.run(async () => {
      ran = true;
    });
    await work.idle();
    assert.equal(ran, true);
  });

  test("answers the ack's caller before any of the work starts", async () => {
    const work = new AfterAck(pino({ level: "silent" }));
    let started = false;
    work.run(async () => {
      started = true;
    });
    assert.equal(started, false, "the job waits for the event loop's next turn");
    await work.idle();
    assert.equal(started, true);
  });
});
