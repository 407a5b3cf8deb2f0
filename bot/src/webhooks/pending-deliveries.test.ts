import assert from "node:assert/strict";
import { test } from "node:test";
import { CompiledQuery } from "kysely";
import { describeEachStoreDialect } from "../store/each-store-dialect-testing.ts";
import { ORPHANED_AFTER_MS, findPending, pendingQuery } from "./pending-deliveries.ts";
import { dropRetry, markInterrupted } from "./webhook-deliveries.ts";

type Status = "sending" | "succeeded" | "failed" | "refused";

describeEachStoreDialect("pending webhook deliveries in the store", (opened, { dialect }) => {
  async function row(
    seq: number,
    attempt: number,
    status: Status,
    startedAt: string,
    next: string | null,
  ): Promise<number> {
    const inserted = await opened()
      .insertInto("webhook_deliveries")
      .values({
        delivery_id: `${seq}.ops`,
        webhook: "ops",
        event: "request.created",
        audit_seq: seq,
        request_id: seq,
        attempt,
        status,
        error: status === "failed" ? "the receiver answered HTTP 503" : null,
        started_at: startedAt,
        next_attempt_at: next,
      })
      .returning("id")
      .executeTakeFirstOrThrow();
    return inserted.id;
  }

  test("are the latest attempts still sending or failed with a retry, soonest first", async () => {
    const store = opened();
    // 1: retried and then delivered; nothing pending.
    await row(1, 1, "failed", "2024-05-01T10:00:00.000Z", "2024-05-01T10:00:02.000Z");
    await row(1, 2, "succeeded", "2024-05-01T10:00:02.000Z", null);
    // 2: failed for good, 3: refused; nothing pending.
    await row(2, 1, "failed", "2024-05-01T10:00:00.000Z", null);
    await row(3, 1, "refused", "2024-05-01T10:00:00.000Z", null);
    // 4: a retry due later than 5's; 5: attempt 2 left sending.
    await row(4, 1, "failed", "2024-05-01T10:00:00.000Z", "2024-05-01T12:00:00.000Z");
    await row(5, 1, "failed", "2024-05-01T09:00:00.000Z", "2024-05-01T09:00:02.000Z");
    const sending = await row(5, 2, "sending", "2024-05-01T09:00:02.000Z", null);

    const found = await findPending(store, 10);
    assert.deepEqual(
      found.map((p) => [p.kind, p.row.deliveryId, p.row.attempt, p.due.toISOString()]),
      [
        [
          "interrupted",
          "5.ops",
          2,
          new Date(Date.parse("2024-05-01T09:00:02.000Z") + ORPHANED_AFTER_MS).toISOString(),
        ],
        ["scheduled", "4.ops", 1, "2024-05-01T12:00:00.000Z"],
      ],
    );
    assert.equal((await findPending(store, 1)).length, 1, "the limit bounds what is read");

    // Settling the interrupted attempt makes its retry due; a second settle finds nothing to do.
    const now = new Date("2024-05-01T13:00:00.000Z");
    assert.equal(await markInterrupted(store, sending, now), true);
    assert.equal(await markInterrupted(store, sending, now), false);
    const settled = (await findPending(store, 10)).find((p) => p.row.deliveryId === "5.ops");
    assert.deepEqual([settled?.kind, settled?.due.toISOString()], ["scheduled", now.toISOString()]);

    // A dropped retry is no longer pending, and its row says why.
    await dropRetry(store, sending, settled?.row.error ?? "", "webhook ops is no longer in the config");
    const left = await findPending(store, 10);
    assert.deepEqual(
      left.map((p) => p.row.deliveryId),
      ["4.ops"],
    );
    const dropped = await store
      .selectFrom("webhook_deliveries")
      .select(["error", "next_attempt_at"])
      .where("id", "=", sending)
      .executeTakeFirstOrThrow();
    assert.match(
      dropped.error ?? "",
      /^interrupted: .*; retry not made: webhook ops is no longer in the config$/,
    );
    assert.equal(dropped.next_attempt_at, null);
  });

  // SQLite's plan only: PostgreSQL's planner scans a table of a few rows whatever the indexes.
  if (dialect !== "sqlite") return;
  test("are read through the partial index, not by scanning every attempt ever made", async () => {
    const store = opened();
    const q = pendingQuery(store, 10).compile();
    const plan = await store.executeQuery<{ detail: string }>(
      CompiledQuery.raw(`EXPLAIN QUERY PLAN ${q.sql}`, [...q.parameters]),
    );
    const outer = plan.rows.map((r) => r.detail).find((d) => /^(SCAN|SEARCH) d\b/.test(d));
    assert.match(outer ?? "", /USING INDEX webhook_deliveries_pending/, JSON.stringify(plan.rows));
  });
});
