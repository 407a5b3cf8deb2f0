/**
 * Instances started at once on one empty PostgreSQL state (a fresh HA deployment, all replicas
 * up together): every one starts, the schema is applied once, and the first-start credentials are
 * issued once — not one admin token per instance.
 */
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { parseBotConfig, startBot, type RunningBot } from "@dbward/bot";
import { pino } from "pino";
import { TEST_CONFIG } from "./support/bot-harness.ts";
import { dropStateDatabase, ensureStateDatabase, shareSigningKey } from "./support/postgres-state.ts";

describe("three instances starting at once on one empty PostgreSQL state", () => {
  const key = `concurrent-start-${process.pid}`;
  const dirs: string[] = [];
  let bots: RunningBot[] = [];

  before(async () => {
    await dropStateDatabase(key);
    const url = await ensureStateDatabase(key);
    const parsed = parseBotConfig(TEST_CONFIG);
    const config = { ...parsed, state: { url, pool_size: 4 } };
    for (let i = 0; i < 3; i++) dirs.push(mkdtempSync(join(tmpdir(), "dbward-start-")));
    shareSigningKey(dirs);
    bots = await Promise.all(
      dirs.map((dir) => {
        return startBot({
          config,
          dataDir: dir,
          env: {},
          logger: pino({ level: "silent" }),
          listen: { host: "127.0.0.1", port: 0 },
        });
      }),
    );
  });
  after(async () => {
    await Promise.all(bots.map((b) => b.close()));
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
    await dropStateDatabase(key);
  });

  test("issues each first-start token once, printed by exactly one instance", async () => {
    const printed = bots.flatMap((b) => b.bootstrapSecrets.map((s) => `${s.kind}:${s.subject}`)).sort();
    assert.deepEqual(printed, ["agent:agent-1", "agent:agent-2", "user:root"]);
    const rows = await bots[0]!.store
      .selectFrom("api_tokens")
      .select(["kind", "subject"])
      .where("name", "=", "bootstrap")
      .orderBy("subject")
      .execute();
    assert.deepEqual(rows, [
      { kind: "agent", subject: "agent-1" },
      { kind: "agent", subject: "agent-2" },
      { kind: "user", subject: "root" },
    ]);
  });

  test("the printed admin token works on every instance", async () => {
    const admin = bots.flatMap((b) => b.bootstrapSecrets).find((s) => s.kind === "user");
    assert.ok(admin);
    for (const b of bots) {
      const res = await fetch(`${b.url}/api/users`, { headers: { authorization: `Bearer ${admin.secret}` } });
      assert.equal(res.status, 200);
    }
  });
});

describe("an instance without the shared signing key", () => {
  const key = `missing-key-${process.pid}`;
  const dirs: string[] = [];
  after(async () => {
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
    await dropStateDatabase(key);
  });

  test("is refused at start, names the key the state signs with, and keeps no generated key", async () => {
    await dropStateDatabase(key);
    const url = await ensureStateDatabase(key);
    const config = { ...parseBotConfig(TEST_CONFIG), state: { url, pool_size: 2 } };
    const start = (dir: string) =>
      startBot({
        config,
        dataDir: dir,
        env: {},
        logger: pino({ level: "silent" }),
        listen: { host: "127.0.0.1", port: 0 },
      });
    for (let i = 0; i < 2; i++) dirs.push(mkdtempSync(join(tmpdir(), "dbward-key-")));
    const first = await start(dirs[0]!);
    try {
      await assert.rejects(start(dirs[1]!), (err: Error) => {
        assert.match(err.message, new RegExp(`already signs with key ${first.signingKey.kid}`));
        assert.match(err.message, /copy signing-key\.json from another instance/);
        return true;
      });
      assert.equal(existsSync(join(dirs[1]!, "signing-key.json")), false);
      const keys = await first.store.selectFrom("signing_keys").select("kid").execute();
      assert.deepEqual(keys, [{ kid: first.signingKey.kid }]);
    } finally {
      await first.close();
    }
  });
});

describe("a first start that cannot reach the PostgreSQL state", () => {
  test("fails and leaves no generated signing key to pass for the shared one next time", async () => {
    const dir = mkdtempSync(join(tmpdir(), "dbward-unreachable-"));
    try {
      // Port 1 on loopback: nothing listens there.
      const config = {
        ...parseBotConfig(TEST_CONFIG),
        state: { url: "postgres://postgres@127.0.0.1:1/dbward", pool_size: 2 },
      };
      await assert.rejects(
        startBot({
          config,
          dataDir: dir,
          env: {},
          logger: pino({ level: "silent" }),
          listen: { host: "127.0.0.1", port: 0 },
        }),
        /ECONNREFUSED|connect/,
      );
      assert.equal(existsSync(join(dir, "signing-key.json")), false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
