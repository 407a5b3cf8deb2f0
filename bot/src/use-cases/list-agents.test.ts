import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { parseBotConfig } from "../config/bot-config.ts";
import { openStore, type Store } from "../store/open-store.ts";
import { listAgents } from "./list-agents.ts";
import { requestRow } from "../../../test/support/request-row.ts";

const CONFIG = parseBotConfig(`
databases: [{ name: shop, dialect: postgres, environments: [production] }]
workflows: [{ name: reads, operations: [read], auto_approve: always }]
agents: [{ id: agent-a }, { id: agent-b }, { id: agent-c }, { id: agent-d }]
monitoring: { agent_stale_after_seconds: 60 }
`);
const NOW = new Date("2030-01-01T12:00:00.000Z");
const ago = (s: number) => new Date(NOW.getTime() - s * 1000).toISOString();

describe("listAgents", () => {
  const dir = mkdtempSync(join(tmpdir(), "dbward-agents-"));
  let store: Store;
  before(async () => {
    store = openStore(dir);
    const caps = JSON.stringify([{ database: "shop", environment: "production", operations: ["read"] }]);
    await store
      .insertInto("agents")
      .values([
        { id: "agent-a", last_seen_at: ago(5), capabilities_json: caps },
        { id: "agent-b", last_seen_at: ago(600), capabilities_json: caps },
        { id: "agent-c", last_seen_at: ago(600), capabilities_json: caps },
        { id: "retired", last_seen_at: ago(9000), capabilities_json: "[]" },
      ])
      .execute();
    // agent-c has not polled for ten minutes because it is running a long statement.
    await store
      .insertInto("requests")
      .values(requestRow({ id: 1, status: "running", created_at: ago(700), expires_at: ago(-3600) }))
      .execute();
    await store
      .insertInto("executions")
      .values({
        id: "1-1",
        request_id: 1,
        number: 1,
        agent_id: "agent-c",
        token_id: "t1",
        status: "running",
        claimed_at: ago(600),
        lease_expires_at: ago(-20),
        finished_at: null,
        duration_ms: null,
        row_count: null,
        affected_rows: null,
        result_json: null,
        error_code: null,
        error_message: null,
      })
      .execute();
  });
  after(async () => {
    await store.destroy();
    rmSync(dir, { recursive: true, force: true });
  });

  test("tells connected, stale, busy and never-seen agents apart, and marks agents no longer configured", async () => {
    const view = await listAgents({ store, config: () => CONFIG, clock: { now: () => NOW } });
    assert.equal(view.stale_after_seconds, 60);
    assert.deepEqual(
      view.agents.map((a) => [a.id, a.status, a.configured, a.seconds_since_seen, a.running_jobs]),
      [
        ["agent-a", "connected", true, 5, 0],
        ["agent-b", "stale", true, 600, 0],
        ["agent-c", "busy", true, 600, 1],
        ["agent-d", "never_seen", true, null, 0],
        ["retired", "stale", false, 9000, 0],
      ],
    );
    assert.deepEqual(view.agents[0]?.capabilities, [
      { database: "shop", environment: "production", operations: ["read"] },
    ]);
  });

  test("a running execution whose lease ran out does not make its agent busy", async () => {
    const later = new Date(NOW.getTime() + 60_000);
    const view = await listAgents({ store, config: () => CONFIG, clock: { now: () => later } });
    assert.equal(view.agents.find((a) => a.id === "agent-c")?.status, "stale");
  });
});
