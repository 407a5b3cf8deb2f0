import assert from "node:assert/strict";
import { test } from "node:test";
import { findAgentCapabilities, listAgentRecords, saveAgentPoll } from "./agents-repo.ts";
import { describeEachStoreDialect } from "./each-store-dialect-testing.ts";

const CAPS = [{ database: "shop", environment: "production", operations: ["read" as const] }];
const DOWN = [
  { database: "billing", environment: "production", error: "refused", since: "2030-01-01T00:00:00.000Z" },
];

describeEachStoreDialect("agents in the store", (opened) => {
  test("a poll records what the agent declares, and the next poll replaces it", async () => {
    const store = opened();
    await saveAgentPoll(store, "agent-a", "2030-01-01T12:00:00.000Z", CAPS, DOWN);
    assert.deepEqual(await findAgentCapabilities(store, "agent-a"), CAPS);
    await saveAgentPoll(store, "agent-a", "2030-01-01T12:00:05.000Z", [], []);
    assert.deepEqual(await listAgentRecords(store), [
      { id: "agent-a", lastSeenAt: "2030-01-01T12:00:05.000Z", capabilities: [], degraded: [] },
    ]);
    await saveAgentPoll(store, "agent-a", "2030-01-01T12:00:10.000Z", CAPS, DOWN);
    assert.deepEqual((await listAgentRecords(store))[0]?.degraded, DOWN);
  });

  test("an agent that never polled declares nothing", async () => {
    const store = opened();
    assert.deepEqual(await findAgentCapabilities(store, "nobody"), []);
  });

  test("stored capabilities of another shape read as none, so nothing is allowed", async () => {
    const store = opened();
    for (const [id, json] of [
      ["broken", "{not json"],
      ["object", '{"database":"shop"}'],
      ["bad-op", '[{"database":"shop","environment":"production","operations":["drop"]}]'],
    ] as const) {
      await store
        .insertInto("agents")
        .values({ id, last_seen_at: "2030-01-01T12:00:00.000Z", capabilities_json: json, degraded_json: "7" })
        .execute();
      assert.deepEqual(await findAgentCapabilities(store, id), [], id);
    }
    const records = await listAgentRecords(store);
    assert.deepEqual(
      records.map((r) => [r.id, r.capabilities.length, r.degraded.length]),
      [
        ["agent-a", 1, 1],
        ["bad-op", 0, 0],
        ["broken", 0, 0],
        ["object", 0, 0],
      ],
    );
  });
});
