import assert from "node:assert/strict";
import { before, test } from "node:test";
import type { RequestId } from "@dbward/shared";
import {
  annotateLostExecution,
  countExecutionsClaimedSince,
  countLiveLeasesByAgent,
  endRunningExecutionLate,
  extendRunningLease,
  flagRunningExecutionCancelled,
  insertExecution,
  listLapsedLeases,
  markExecutionLost,
  setRunningLease,
} from "./executions-repo.ts";
import { inTransaction } from "./in-transaction.ts";
import { describeEachStoreDialect } from "./each-store-dialect-testing.ts";
import { findExecution } from "./requests-repo.ts";
import { listExpiredResults, markResultPurged } from "./results-retention-repo.ts";
import { requestRow } from "../../../test/support/request-row.ts";

const NOW = new Date("2030-01-01T12:00:00.000Z");
const at = (s: number): string => new Date(NOW.getTime() + s * 1000).toISOString();

describeEachStoreDialect("executions and result retention in the store", (opened) => {
  const claim = (id: string, requestId: number, agentId: string, claimedAt: string, lease: string) =>
    inTransaction(opened(), (tx) =>
      insertExecution(tx, {
        id,
        requestId: requestId as RequestId,
        number: Number(id.split("-")[1]),
        agentId,
        tokenId: `token-${id}`,
        claimedAt,
        leaseExpiresAt: lease,
      }),
    );

  before(async () => {
    for (const [id, database] of [
      [1, "shop"],
      [2, "shop"],
      [3, "billing"],
    ] as const) {
      await opened()
        .insertInto("requests")
        .values(
          requestRow({
            id,
            status: "running",
            database_name: database,
            created_at: at(-700),
            expires_at: at(3600),
          }),
        )
        .execute();
    }
    await claim("1-1", 1, "agent-a", at(-600), at(-10));
    await claim("2-1", 2, "agent-a", at(-30), at(20));
    await claim("3-1", 3, "agent-b", at(-30), at(20));
  });

  test("counts the claims on one database and environment since a time", async () => {
    const store = opened();
    const shop = { database: "shop", environment: "production" };
    assert.equal(await countExecutionsClaimedSince(store, shop, at(-60)), 1);
    assert.equal(await countExecutionsClaimedSince(store, shop, at(-3600)), 2);
    assert.equal(await countExecutionsClaimedSince(store, { ...shop, environment: "staging" }, at(-3600)), 0);
  });

  test("counts live leases per agent and lists the lapsed ones", async () => {
    const store = opened();
    assert.deepEqual([...(await countLiveLeasesByAgent(store, NOW))].sort(), [
      ["agent-a", 1],
      ["agent-b", 1],
    ]);
    assert.deepEqual(await listLapsedLeases(store, NOW), [{ id: "1-1", requestId: 1 }]);
  });

  test("a lease is extended by progress but never shortened by it", async () => {
    const store = opened();
    await extendRunningLease(store, "2-1", at(10));
    assert.equal((await findExecution(store, "2-1"))?.lease_expires_at, at(20));
    await extendRunningLease(store, "2-1", at(40));
    assert.equal((await findExecution(store, "2-1"))?.lease_expires_at, at(40));
  });

  test("marks an execution lost once, and only while its lease is out", async () => {
    const store = opened();
    assert.equal(await inTransaction(store, (tx) => markExecutionLost(tx, "2-1", NOW)), false);
    assert.equal(await inTransaction(store, (tx) => markExecutionLost(tx, "1-1", NOW)), true);
    assert.equal(await inTransaction(store, (tx) => markExecutionLost(tx, "1-1", NOW)), false);
    const lost = await findExecution(store, "1-1");
    assert.equal(lost?.status, "lost");
    assert.equal(lost?.finished_at, NOW.toISOString());
    assert.equal(await setRunningLease(store, "1-1", at(60)), false, "a lost execution keeps no lease");
  });

  test("a late report ends only a running execution and annotates only a lost one", async () => {
    const store = opened();
    const late = { affectedRows: 3, errorCode: "late.code", errorMessage: "what the agent knows" };
    await inTransaction(store, (tx) =>
      endRunningExecutionLate(tx, "1-1", "succeeded", NOW.toISOString(), late),
    );
    assert.equal((await findExecution(store, "1-1"))?.status, "lost", "a lost execution stays lost");
    await inTransaction(store, (tx) => annotateLostExecution(tx, "1-1", late));
    const annotated = await findExecution(store, "1-1");
    assert.deepEqual(
      [annotated?.status, annotated?.affected_rows, annotated?.error_code, annotated?.error_message],
      ["lost", 3, "late.code", "what the agent knows"],
    );
    await inTransaction(store, (tx) => annotateLostExecution(tx, "3-1", late));
    assert.equal(
      (await findExecution(store, "3-1"))?.error_code,
      null,
      "a running execution is not annotated",
    );
  });

  test("flags only the running execution of the request for cancellation", async () => {
    const store = opened();
    await inTransaction(store, (tx) => flagRunningExecutionCancelled(tx, 1 as RequestId));
    assert.equal((await findExecution(store, "1-1"))?.cancel_requested, 0);
    await inTransaction(store, (tx) => flagRunningExecutionCancelled(tx, 3 as RequestId));
    assert.equal((await findExecution(store, "3-1"))?.cancel_requested, 1);
  });

  test("lists expired results oldest first and purges each once", async () => {
    const store = opened();
    await store
      .updateTable("executions")
      .set({ result_json: "[]", result_bytes: 10, result_expires_at: at(-5) })
      .where("id", "=", "3-1")
      .execute();
    await store
      .updateTable("executions")
      .set({ result_json: "[]", result_bytes: 20, result_expires_at: at(-50) })
      .where("id", "=", "2-1")
      .execute();
    assert.deepEqual(await listExpiredResults(store, NOW.toISOString(), 10), [
      { id: "2-1", requestId: 2, number: 1, bytes: 20 },
      { id: "3-1", requestId: 3, number: 1, bytes: 10 },
    ]);
    assert.equal((await listExpiredResults(store, NOW.toISOString(), 1)).length, 1);
    assert.equal(await inTransaction(store, (tx) => markResultPurged(tx, "2-1", NOW.toISOString())), true);
    assert.equal(await inTransaction(store, (tx) => markResultPurged(tx, "2-1", NOW.toISOString())), false);
    assert.equal((await findExecution(store, "2-1"))?.result_json, null);
    assert.deepEqual(
      (await listExpiredResults(store, NOW.toISOString(), 10)).map((r) => r.id),
      ["3-1"],
    );
  });
});
