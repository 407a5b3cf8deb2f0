/**
 * Rows written before encryption was turned on (docs/operations.md, "Encrypting the state"): a
 * bot started with DBWARD_STATE_KEY on an old store reads them as they are and seals everything
 * new; `dbward state encrypt` (the bot stopped) then seals the old values and result files too,
 * and compacts a SQLite file, so none of the old strings is left in the state's bytes. Real bot,
 * real agent on PostgreSQL, the real `dbward` command; SQLite or PostgreSQL state.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import type { RequestView } from "@dbward/shared";
import pg from "pg";
import { startTestAgent } from "./support/agent-harness.ts";
import { startBotHarness, TEST_CONFIG, type BotHarness } from "./support/bot-harness.ts";
import {
  dropStateDatabase,
  ensureStateDatabase,
  stateDatabaseName,
  stateOnPostgres,
  stateUrl,
} from "./support/postgres-state.ts";
import { spawnDbward, token } from "./support/processes.ts";
import { waitForStatus } from "./support/wait.ts";

const KEY = randomBytes(32).toString("base64");
const ADMIN = token("dbw_");
// From the environment, so a restarted bot keeps the agent's token (the printed one is shown once).
const AGENT = token("dbwa_");
const OLD_SQL = "zqOldLiteral3316";
const OLD_REASON = "zqOldReason7720";
const NEW_SQL = "zqNewLiteral5148";
const RESULT = "ZQOLDRESULT";
const readSql = (literal: string): string =>
  `SELECT '${literal}' AS k, upper('zqoldresult') || g AS v FROM generate_series(1, 20) AS g`;

describe("state written before encryption was turned on", () => {
  const dataDir = mkdtempSync(join(tmpdir(), "dbward-enc-old-"));
  const botDir = join(dataDir, "bot");
  let oldId = 0;
  let newId = 0;
  after(async () => {
    rmSync(dataDir, { recursive: true, force: true });
    if (stateOnPostgres()) await dropStateDatabase(dataDir);
  });

  const start = (env: Record<string, string>): Promise<BotHarness> =>
    startBotHarness(TEST_CONFIG, {
      dataDir,
      env: { DBWARD_ADMIN_TOKEN: ADMIN, DBWARD_AGENT_TOKEN_AGENT_1: AGENT, ...env },
    });

  async function run(h: BotHarness, literal: string, reason: string): Promise<number> {
    const res = await h.call(await h.tokenFor("alice"), "POST", "/api/requests", {
      database: "shop",
      environment: "staging",
      sql: readSql(literal),
      reason,
    });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    const id = (res.body as RequestView).id;
    await waitForStatus(h, id, "succeeded", 30_000);
    return id;
  }

  async function rawState(): Promise<Buffer> {
    if (!stateOnPostgres()) return Buffer.concat(filesUnder(botDir).map((f) => readFileSync(f)));
    const client = new pg.Client(stateUrl(stateDatabaseName(dataDir)));
    await client.connect();
    try {
      const parts: Buffer[] = [];
      const tables = await client.query<{ t: string }>(
        "select tablename as t from pg_tables where schemaname = 'public'",
      );
      for (const { t } of tables.rows)
        for (const row of (await client.query(`select * from ${t}`)).rows as Record<string, unknown>[])
          for (const v of Object.values(row))
            parts.push(
              Buffer.isBuffer(v) ? v : Buffer.from(typeof v === "string" ? v : (JSON.stringify(v) ?? "")),
            );
      return Buffer.concat(parts);
    } finally {
      await client.end();
    }
  }

  const encrypt = async (): Promise<string> => {
    const where = stateOnPostgres()
      ? ["--state-url", stateUrl(stateDatabaseName(dataDir))]
      : ["--data-dir", botDir];
    const proc = spawnDbward(["state", "encrypt", ...where], { DBWARD_STATE_KEY: KEY });
    assert.equal(await proc.exited, 0, proc.stderr());
    return proc.stdout();
  };

  test("a clear store holds the strings; started with the key it still reads them and seals what is new", async () => {
    const clear = await start({});
    let agent = await startTestAgent(clear, "agent-1", undefined, {}, undefined, AGENT);
    try {
      oldId = await run(clear, OLD_SQL, OLD_REASON);
    } finally {
      await agent.stop();
      await clear.stop();
    }
    const raw = await rawState();
    for (const s of [OLD_SQL, OLD_REASON, RESULT]) assert.ok(raw.includes(s), `the clear store holds ${s}`);

    const h = await start({ DBWARD_STATE_KEY: KEY });
    try {
      const old = (await h.call(ADMIN, "GET", `/api/requests/${oldId}`)).body as RequestView;
      assert.equal(old.sql, readSql(OLD_SQL));
      assert.equal(old.reason, OLD_REASON);
      agent = await startTestAgent(h, "agent-1", undefined, {}, undefined, AGENT);
      newId = await run(h, NEW_SQL, "new");
      await agent.stop();
    } finally {
      await h.stop();
    }
    assert.equal((await rawState()).includes(NEW_SQL), false, "what is new is sealed");
  });

  test("dbward state encrypt seals the old values and result files; nothing of them is left, everything reads back", async () => {
    assert.match(await encrypt(), /sealed [1-9][0-9]* clear values/);
    const raw = await rawState();
    for (const s of [OLD_SQL, OLD_REASON, RESULT, NEW_SQL])
      assert.equal(raw.includes(s), false, `the state still holds ${s}`);
    assert.match(
      await encrypt(),
      /sealed 0 clear values, 0 result rows and 0 result files/,
      "a second run finds nothing",
    );

    const h = await start({ DBWARD_STATE_KEY: KEY });
    try {
      const old = (await h.call(ADMIN, "GET", `/api/requests/${oldId}`)).body as RequestView;
      assert.equal(old.sql, readSql(OLD_SQL));
      assert.equal(old.reason, OLD_REASON);
      assert.equal(
        ((await h.call(ADMIN, "GET", `/api/requests/${newId}`)).body as RequestView).sql,
        readSql(NEW_SQL),
      );
      const result = await fetch(`${h.url}/api/requests/${oldId}/result?format=csv`, {
        headers: { authorization: `Bearer ${await h.tokenFor("alice")}` },
      });
      assert.equal(result.status, 200);
      assert.match(await result.text(), new RegExp(`${OLD_SQL},${RESULT}20`));
    } finally {
      await h.stop();
    }
    const where = stateOnPostgres()
      ? ["--state-url", stateUrl(stateDatabaseName(dataDir))]
      : ["--data-dir", botDir];
    const verify = spawnDbward(["audit", "verify", ...where], {});
    assert.equal(await verify.exited, 0, verify.stderr() + verify.stdout());
  });

  test(
    "an encrypted SQLite store migrated to PostgreSQL opens there with the same key, results included",
    { skip: stateOnPostgres() && "moves SQLite state; runs in the SQLite pass" },
    async () => {
      const target = `${dataDir}-migrated`;
      const url = await ensureStateDatabase(target);
      try {
        const migrate = spawnDbward(["state", "migrate", "--from", botDir, "--to", url], {});
        assert.equal(await migrate.exited, 0, migrate.stderr());
        const moved = await startBotHarness(`${TEST_CONFIG}\nstate: { url: "${url}", pool_size: 4 }\n`, {
          dataDir,
          env: { DBWARD_ADMIN_TOKEN: ADMIN, DBWARD_STATE_KEY: KEY },
        });
        try {
          const old = (await moved.call(ADMIN, "GET", `/api/requests/${oldId}`)).body as RequestView;
          assert.equal(old.sql, readSql(OLD_SQL));
          const result = await fetch(`${moved.url}/api/requests/${oldId}/result?format=csv`, {
            headers: { authorization: `Bearer ${await moved.tokenFor("alice")}` },
          });
          assert.equal(result.status, 200);
          assert.match(await result.text(), new RegExp(`${OLD_SQL},${RESULT}20`));
        } finally {
          await moved.stop();
        }
        const client = new pg.Client(url);
        await client.connect();
        const chunks = await client.query<{ data: Buffer }>("select data from result_chunks");
        await client.end();
        assert.ok(chunks.rows.length > 0);
        for (const { data } of chunks.rows)
          assert.equal(data.includes(RESULT), false, "chunks stay sealed in PostgreSQL");
      } finally {
        await dropStateDatabase(target);
      }
    },
  );

  test("without the key the command refuses and changes nothing", async () => {
    const from = stateOnPostgres()
      ? ["--state-url", stateUrl(stateDatabaseName(dataDir))]
      : ["--data-dir", botDir];
    const proc = spawnDbward(["state", "encrypt", ...from], {});
    assert.notEqual(await proc.exited, 0);
    assert.match(proc.stderr(), /state\.key_missing/);
  });
});

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? filesUnder(path) : [path];
  });
}
