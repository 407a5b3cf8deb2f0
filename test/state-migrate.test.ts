/**
 * `dbward state migrate` on a real installation: a bot run on SQLite state, requests created and
 * decided through its API, the bot stopped, the state moved with the CLI run as a process into a
 * fresh PostgreSQL database, and a bot started on that database: the same requests, users and
 * tokens (an old token still signs in), new ids after the old ones, and `dbward audit verify
 * --state-url` passing. Every refusal leaves the target as it was: a URL with a password, a bot
 * still running on the source, a tampered source chain, a database that is not dbward's, and a
 * target that already holds state.
 */
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import Database from "better-sqlite3";
import pg from "pg";
import type { RequestView } from "@dbward/shared";
import { EXIT } from "../cli/src/exit-codes.ts";
import { startBotHarness, TEST_CONFIG, type BotHarness } from "./support/bot-harness.ts";
import { dropStateDatabase, ensureStateDatabase, stateOnPostgres } from "./support/postgres-state.ts";
import { DBWARD_BIN as BIN, token } from "./support/processes.ts";

interface CliRun {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** `dbward …` as a separate process, as an operator runs it. */
function dbward(args: string[], env: Record<string, string> = {}): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      env: { PATH: process.env.PATH ?? "", ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString("utf8")));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString("utf8")));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stdout, stderr }));
  });
}

async function query<T extends pg.QueryResultRow>(url: string, text: string): Promise<T[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<T>(text)).rows;
  } finally {
    await client.end();
  }
}

/** Names of the tables in the database's public schema: none means nothing was created. */
async function tablesIn(url: string): Promise<string[]> {
  const rows = await query<{ name: string }>(
    url,
    "select table_name as name from information_schema.tables where table_schema = 'public' order by 1",
  );
  return rows.map((r) => r.name);
}

const skip = stateOnPostgres() ? "moves SQLite state to PostgreSQL itself; runs in the SQLite pass" : false;

describe("dbward state migrate from a real SQLite installation to PostgreSQL", { skip }, () => {
  const root = mkdtempSync(join(tmpdir(), "dbward-migrate-"));
  const dataDir = join(root, "bot");
  const adminToken = token("dbw_");
  const keys = { target: join(root, "target"), fresh: join(root, "fresh"), foreign: join(root, "foreign") };
  const urls: Record<keyof typeof keys, string> = { target: "", fresh: "", foreign: "" };
  const children: ChildProcess[] = [];
  let aliceToken = "";
  const sourceViews: RequestView[] = [];
  let onPostgres: BotHarness | undefined;

  before(async () => {
    for (const k of Object.keys(keys) as (keyof typeof keys)[]) {
      await dropStateDatabase(keys[k]);
      urls[k] = await ensureStateDatabase(keys[k]);
    }
    const h = await startBotHarness(TEST_CONFIG, { dataDir: root, env: { DBWARD_ADMIN_TOKEN: adminToken } });
    try {
      aliceToken = await h.tokenFor("alice");
      const bob = await h.tokenFor("bob");
      const create = async (sql: string) => {
        const res = await h.call(aliceToken, "POST", "/api/requests", {
          database: "legacy",
          environment: "production",
          sql,
          reason: "migration test",
        });
        assert.equal(res.status, 201, JSON.stringify(res.body));
        return (res.body as RequestView).id;
      };
      const approved = await create("UPDATE t SET a = 1 WHERE id = 1");
      assert.equal((await h.call(bob, "POST", `/api/requests/${approved}/approve`, {})).status, 200);
      const rejected = await create("UPDATE t SET a = 2 WHERE id = 2");
      const r = await h.call(bob, "POST", `/api/requests/${rejected}/reject`, { reason: "not now" });
      assert.equal(r.status, 200, JSON.stringify(r.body));
      const cancelled = await create("DELETE FROM t WHERE id = 3");
      const c = await h.call(aliceToken, "POST", `/api/requests/${cancelled}/cancel`, { reason: "typo" });
      assert.equal(c.status, 200, JSON.stringify(c.body));
      await create("UPDATE t SET a = 4 WHERE id = 4");
      for (const id of [approved, rejected, cancelled, cancelled + 1]) {
        const shown = await h.call(aliceToken, "GET", `/api/requests/${id}`);
        sourceViews.push(shown.body as RequestView);
      }
    } finally {
      await h.stop();
    }
  });

  after(async () => {
    for (const child of children) child.kill("SIGKILL");
    await onPostgres?.stop();
    for (const key of Object.values(keys)) await dropStateDatabase(key);
    rmSync(root, { recursive: true, force: true });
  });

  test("refuses a target URL that carries a password, without echoing it", async () => {
    const withPassword = urls.target.replace("postgres@", "postgres:hunter2@");
    const run = await dbward(["state", "migrate", "--from", dataDir, "--to", withPassword]);
    assert.equal(run.code, EXIT.usage, run.stderr);
    assert.match(run.stderr, /--to: must not carry a password: set DBWARD_STATE_PASSWORD/);
    assert.doesNotMatch(run.stderr, /hunter2/);
    assert.deepEqual(await tablesIn(urls.target), []);
  });

  test("refuses while the bot still runs on the source data directory", async () => {
    // A process whose command line is a dbward bot's, recorded in bot.pid as the bot records itself.
    const script = join(mkdtempSync(join(root, "fake-bot-")), "dbward.mjs");
    writeFileSync(script, "setInterval(() => {}, 1000);\n");
    const bot = spawn(process.execPath, [script, "bot"], { stdio: "ignore" });
    children.push(bot);
    writeFileSync(join(dataDir, "bot.pid"), `${bot.pid}\n`);
    try {
      const run = await dbward(["state", "migrate", "--from", dataDir, "--to", urls.target]);
      assert.equal(run.code, EXIT.refused, run.stderr);
      assert.match(run.stderr, new RegExp(`the bot \\(pid ${bot.pid}\\) is running on .*: stop it first`));
      assert.deepEqual(await tablesIn(urls.target), []);
    } finally {
      bot.kill("SIGKILL");
      rmSync(join(dataDir, "bot.pid"), { force: true });
    }
  });

  test("refuses a source whose audit chain was tampered with, naming the first bad sequence", async () => {
    const copyDir = join(root, "tampered");
    rmSync(copyDir, { recursive: true, force: true });
    mkdirSync(copyDir);
    const original = new Database(join(dataDir, "dbward.sqlite"), { readonly: true });
    await original.backup(join(copyDir, "dbward.sqlite"));
    original.close();
    const file = new Database(join(copyDir, "dbward.sqlite"));
    file.prepare("UPDATE audit_events SET actor = 'user:mallory' WHERE seq = 3").run();
    file.close();
    const run = await dbward(["state", "migrate", "--from", copyDir, "--to", urls.target]);
    assert.equal(run.code, EXIT.auditBroken, run.stderr);
    assert.match(run.stderr, /the source's audit chain is BROKEN at sequence 3: hash_mismatch/);
    assert.match(run.stderr, /Nothing was copied/);
    assert.deepEqual(await tablesIn(urls.target), []);
  });

  test("refuses a database that holds tables dbward does not know, and creates nothing in it", async () => {
    await query(urls.foreign, "create table orders (id int primary key)");
    const run = await dbward(["state", "migrate", "--from", dataDir, "--to", urls.foreign]);
    assert.equal(run.code, EXIT.refused, run.stderr);
    assert.match(run.stderr, /holds a table dbward does not know \(orders\)/);
    assert.deepEqual(await tablesIn(urls.foreign), ["orders"]);
  });

  test("copies every table, verifies the chain on both sides and moves the id sequences on", async () => {
    const run = await dbward(["state", "migrate", "--from", dataDir, "--to", urls.target]);
    assert.equal(run.code, EXIT.ok, run.stderr);
    const source = new Database(join(dataDir, "dbward.sqlite"), { readonly: true });
    const events = source.prepare("select count(*) as n, max(seq) as head from audit_events").get() as {
      n: number;
      head: number;
    };
    const users = (source.prepare("select count(*) as n from users").get() as { n: number }).n;
    source.close();
    assert.match(
      run.stdout,
      new RegExp(`audit chain verified on both sides: ${events.n} events, head at ${events.head}`),
    );
    assert.match(run.stdout, new RegExp(`^ {2}users +${users}$`, "m"));
    assert.match(run.stdout, /^ {2}requests +4$/m);
    assert.match(run.stdout, /new ids continue at: requests 5, webhook_deliveries 1, slack_outbox \d+/);
    assert.match(run.stdout, /results: /);
    const [counted] = await query<{ n: string }>(urls.target, "select count(*) as n from audit_events");
    assert.equal(Number(counted?.n), events.n);
  });

  test("refuses to run into the now non-empty target, and changes nothing there", async () => {
    const [beforeCount] = await query<{ n: string }>(urls.target, "select count(*) as n from audit_events");
    const run = await dbward(["state", "migrate", "--from", dataDir, "--to", urls.target, "--json"]);
    assert.equal(run.code, EXIT.refused, run.stderr);
    assert.match(run.stderr, /the target is not empty: table users holds rows/);
    const [afterCount] = await query<{ n: string }>(urls.target, "select count(*) as n from audit_events");
    assert.equal(afterCount?.n, beforeCount?.n);
  });

  test("a bot on the PostgreSQL state serves the old requests and tokens, and new ids follow the old", async () => {
    const config = `${TEST_CONFIG}\nstate: { url: "${urls.target}", pool_size: 4 }\n`;
    onPostgres = await startBotHarness(config, { dataDir: root, env: { DBWARD_ADMIN_TOKEN: adminToken } });
    for (const view of sourceViews) {
      const shown = await onPostgres.call(aliceToken, "GET", `/api/requests/${view.id}`);
      assert.equal(shown.status, 200, "alice's token from the SQLite days still signs in");
      assert.deepEqual(shown.body, view);
    }
    const users = await onPostgres.call(adminToken, "GET", "/api/users");
    assert.equal(users.status, 200);
    assert.match(JSON.stringify(users.body), /"alice"/);
    const created = await onPostgres.call(aliceToken, "POST", "/api/requests", {
      database: "legacy",
      environment: "production",
      sql: "UPDATE t SET a = 5 WHERE id = 5",
      reason: "after the move",
    });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    assert.equal((created.body as RequestView).id, 5);
  });

  test("dbward audit verify --state-url verifies the moved chain read-only, DBWARD_STATE_URL too", async () => {
    const byFlag = await dbward(["audit", "verify", "--state-url", urls.target]);
    assert.equal(byFlag.code, EXIT.ok, byFlag.stderr);
    assert.match(byFlag.stdout, /audit chain verified: \d+ events .*stored signed checkpoint/);
    const byEnv = await dbward(["audit", "verify", "--json"], { DBWARD_STATE_URL: urls.target });
    assert.equal(byEnv.code, EXIT.ok, byEnv.stderr);
    assert.equal((JSON.parse(byEnv.stdout) as { ok: boolean }).ok, true);
    const exported = await dbward(["audit", "export", "--state-url", urls.target]);
    assert.equal(exported.code, EXIT.ok, exported.stderr);
    assert.match(exported.stdout.split("\n")[0] ?? "", /"kind":"header"|header/);
  });

  test("dbward audit verify --state-url creates nothing in a database without dbward state", async () => {
    const run = await dbward(["audit", "verify", "--state-url", urls.fresh]);
    assert.equal(run.code, EXIT.usage, run.stderr);
    assert.match(
      run.stderr,
      /no dbward state in postgres@127\.0\.0\.1:5432\/\w+: the database has no audit_events table/,
    );
    assert.deepEqual(await tablesIn(urls.fresh), []);
  });

  test("dbward audit verify --state-url reports an edited row on PostgreSQL with its sequence", async () => {
    await onPostgres?.stop();
    onPostgres = undefined;
    await query(urls.target, "update audit_events set actor = 'user:mallory' where seq = 4");
    const run = await dbward(["audit", "verify", "--state-url", urls.target]);
    assert.equal(run.code, EXIT.auditBroken, run.stderr);
    assert.match(run.stderr, /audit chain BROKEN at sequence 4: hash_mismatch/);
  });
});
