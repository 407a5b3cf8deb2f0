/**
 * Encrypted state at rest (docs/security-hardening.md, "Encrypted state at rest"), with a real bot
 * on its real state store (SQLite, or PostgreSQL with DBWARD_TEST_STATE=postgres), the real agent
 * on the real PostgreSQL, and the fake Slack Web API: what a request's SQL, reason and result hold
 * never reaches the state's bytes in the clear, everything reads back through the API and Slack,
 * a start without the key or with another refuses, rotation keeps it readable and retires the old
 * key, audit verification needs no key, and a ciphertext moved to another row is reported.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import type { AgentHandle } from "@dbward/agent";
import type { RequestView } from "@dbward/shared";
import Database from "better-sqlite3";
import pg from "pg";
import { pino } from "pino";
import { startTestAgent } from "./support/agent-harness.ts";
import { startBotHarness, type BotHarness } from "./support/bot-harness.ts";
import { FakeSlack, type SlackCall } from "./support/fake-slack.ts";
import { dropStateDatabase, stateDatabaseName, stateOnPostgres, stateUrl } from "./support/postgres-state.ts";
import { spawnDbward, token } from "./support/processes.ts";
import { waitForStatus } from "./support/wait.ts";
import { SLACK_TEST_CONFIG, SLACK_USERS, textOf } from "./slack/slack-harness.ts";
import { SlackRequests } from "./slack/slack-requests.ts";

const K1 = randomBytes(32).toString("base64");
const K2 = randomBytes(32).toString("base64");
const ADMIN = token("dbw_");

// Distinctive strings: each must be readable through the API or Slack and absent from the bytes.
const API_SQL = "zqApiLiteral8841";
const API_REASON = "zqApiReason5531";
const SLACK_SQL = "zqSlackLiteral2207";
const SLACK_REASON = "zqSlackReason9014";
// Made by the database (upper()), so it is in the result and not in the SQL text.
const RESULT_VALUE = "ZQRESULTVALUE";
const SECRETS = [API_SQL, API_REASON, SLACK_SQL, SLACK_REASON, RESULT_VALUE];

// SLACK_TEST_CONFIG shows the SQL in the staging channel post and sends result previews by DM.
const CONFIG = SLACK_TEST_CONFIG;

const readSql = (literal: string): string =>
  `SELECT '${literal}' AS k, upper('zqresultvalue') || g AS v FROM generate_series(1, 40) AS g`;

describe("encrypted state at rest", () => {
  const dataDir = mkdtempSync(join(tmpdir(), "dbward-enc-"));
  let fake: FakeSlack;
  let apiId = 0;
  let slackId = 0;
  const logs: string[] = [];

  const start = (env: Record<string, string>, withSlack = false): Promise<BotHarness> =>
    startBotHarness(CONFIG, {
      dataDir,
      env: { DBWARD_ADMIN_TOKEN: ADMIN, ...env },
      ...(withSlack
        ? { slack: { env: fake.env(), options: { retry: { attempts: 2, baseDelayMs: 5, maxDelayMs: 20 } } } }
        : {}),
      logger: pino({ level: "warn" }, { write: (line: string) => void logs.push(line) }),
    });

  before(async () => {
    fake = await FakeSlack.start();
  });
  after(async () => {
    await fake.close();
    rmSync(dataDir, { recursive: true, force: true });
    if (stateOnPostgres()) await dropStateDatabase(dataDir);
  });

  /** Every byte the state holds: the SQLite files and result files, or every PostgreSQL row. */
  async function rawState(): Promise<Buffer> {
    if (!stateOnPostgres())
      return Buffer.concat(filesUnder(join(dataDir, "bot")).map((f) => readFileSync(f)));
    const client = new pg.Client(stateUrl(stateDatabaseName(dataDir)));
    await client.connect();
    try {
      const tables = await client.query<{ t: string }>(
        "select tablename as t from pg_tables where schemaname = 'public'",
      );
      const parts: Buffer[] = [];
      for (const { t } of tables.rows) {
        for (const row of (await client.query(`select * from ${t}`)).rows as Record<string, unknown>[])
          for (const v of Object.values(row))
            parts.push(
              Buffer.isBuffer(v) ? v : Buffer.from(typeof v === "string" ? v : (JSON.stringify(v) ?? "")),
            );
      }
      return Buffer.concat(parts);
    } finally {
      await client.end();
    }
  }

  function assertNoClearText(raw: Buffer, what: string): void {
    for (const s of SECRETS)
      assert.equal(raw.includes(s), false, `${what} holds ${s} in the clear${whereInSqlite(s)}`);
  }

  /** For the failure message: the SQLite columns that hold `text` (none found: a freed page). */
  function whereInSqlite(text: string): string {
    if (stateOnPostgres()) return "";
    const db = new Database(join(dataDir, "bot", "dbward.sqlite"), { readonly: true });
    try {
      const found: string[] = [];
      const tables = db.prepare("select name from sqlite_master where type = 'table'").all() as {
        name: string;
      }[];
      for (const { name } of tables)
        for (const { name: column } of db.prepare(`pragma table_info(${name})`).all() as { name: string }[])
          if (
            db.prepare(`select 1 from ${name} where cast(${column} as text) like ?`).get(`%${text}%`) !==
            undefined
          )
            found.push(`${name}.${column}`);
      return ` (in ${found.join(", ") || "no live row"})`;
    } finally {
      db.close();
    }
  }

  test("with DBWARD_STATE_KEY the state holds none of a request's SQL, reason, result or Slack texts, and all of it reads back", async () => {
    const h = await start({ DBWARD_STATE_KEY: K1 }, true);
    let agent: AgentHandle | undefined;
    try {
      agent = await startTestAgent(h);
      const alice = await h.tokenFor("alice");
      const created = await h.call(alice, "POST", "/api/requests", {
        database: "shop",
        environment: "staging",
        sql: readSql(API_SQL),
        reason: API_REASON,
      });
      assert.equal(created.status, 201, JSON.stringify(created.body));
      apiId = (created.body as RequestView).id;
      const done = await waitForStatus(h, apiId, "succeeded", 30_000);
      assert.equal(done.sql, readSql(API_SQL));
      assert.equal(done.reason, API_REASON);
      const result = await fetch(`${h.url}/api/requests/${apiId}/result?format=csv`, {
        headers: { authorization: `Bearer ${alice}` },
      });
      assert.equal(result.status, 200);
      const csv = await result.text();
      assert.match(csv, new RegExp(`${API_SQL},${RESULT_VALUE}40`));

      const slack = new SlackRequests(`${h.url}/slack/events`, fake);
      await slack.command(SLACK_USERS.alice, `query shop staging "${SLACK_REASON}" ${readSql(SLACK_SQL)}`);
      const adapter = h.bot.slack;
      assert.ok(adapter !== undefined);
      await adapter.idle();
      // The command's answer is a delivery of the Slack outbox, which its own worker makes: waited
      // for, not read at once (on PostgreSQL state under a loaded CI it was not there yet).
      await fake.waitFor("the command's answer", () => fake.of("response_url").length > 0, 30_000);
      const answer = textOf(fake.of("response_url").at(-1));
      slackId = Number(/Request #(\d+) created/.exec(answer)?.[1]);
      assert.ok(slackId > apiId, `the Slack request was created: ${answer}`);
      await waitForStatus(h, slackId, "succeeded", 30_000);
      await adapter.idle();
      const slackTexts = fake.calls.map((c: SlackCall) => `${textOf(c)}${c.content ?? ""}`).join("\n");
      assert.ok(slackTexts.includes(SLACK_SQL), "Slack was shown the SQL");
      assert.ok(slackTexts.includes(`${RESULT_VALUE}1`), "Slack was sent the result rows");
      assertNoClearText(await rawState(), "the running bot's state");
    } finally {
      await agent?.stop();
      await h.stop();
    }
    assertNoClearText(await rawState(), "the stopped bot's state");
  });

  test("a start without the key, or with another key, refuses with a message that says what to do", async () => {
    await assert.rejects(
      () => start({}),
      /state\.key_missing: the state store is encrypted .*DBWARD_STATE_KEY is not set/,
    );
    await assert.rejects(
      () => start({ DBWARD_STATE_KEY: randomBytes(32).toString("base64") }),
      /state\.key_wrong: DBWARD_STATE_KEY \(key [0-9a-f]+\) does not open this state store/,
    );
    await assert.rejects(
      () => start({ DBWARD_STATE_KEY: "not-a-key" }),
      /DBWARD_STATE_KEY must be the base64 of 32/,
    );
  });

  test("rotation: a new key with the old one as DBWARD_STATE_KEY_PREVIOUS keeps everything readable; then the old key alone no longer opens", async () => {
    const h = await start({ DBWARD_STATE_KEY: K2, DBWARD_STATE_KEY_PREVIOUS: K1 });
    try {
      const view = (await h.call(ADMIN, "GET", `/api/requests/${apiId}`)).body as RequestView;
      assert.equal(view.sql, readSql(API_SQL));
      assert.equal(view.reason, API_REASON);
      const slackView = (await h.call(ADMIN, "GET", `/api/requests/${slackId}`)).body as RequestView;
      assert.equal(slackView.reason, SLACK_REASON);
      const result = await fetch(`${h.url}/api/requests/${apiId}/result?format=csv`, {
        headers: { authorization: `Bearer ${await h.tokenFor("alice")}` },
      });
      assert.match(await result.text(), new RegExp(`${RESULT_VALUE}1\\b`));
    } finally {
      await h.stop();
    }
    await assert.rejects(() => start({ DBWARD_STATE_KEY: K1 }), /state\.key_wrong/);
    const h2 = await start({ DBWARD_STATE_KEY: K2 });
    await h2.stop();
  });

  test("dbward audit verify passes without any key", async () => {
    const from = stateOnPostgres()
      ? ["--state-url", stateUrl(stateDatabaseName(dataDir))]
      : ["--data-dir", join(dataDir, "bot")];
    const proc = spawnDbward(["audit", "verify", ...from], {});
    const code = await proc.exited;
    assert.equal(code, 0, proc.stderr() + proc.stdout());
    assert.match(proc.stdout(), /ok|verified/i);
  });

  test("a ciphertext moved into another row does not open there: the read is refused and logged, the moved text not shown", async () => {
    await moveSqlText(slackId, apiId);
    const h = await start({ DBWARD_STATE_KEY: K2 });
    try {
      logs.length = 0;
      const res = await h.call(ADMIN, "GET", `/api/requests/${apiId}`);
      assert.equal(res.status, 500);
      assert.equal((res.body as { error: { code: string } }).error.code, "state.undecryptable");
      assert.equal(JSON.stringify(res.body).includes(SLACK_SQL), false);
      assert.ok(
        logs.some((l) =>
          l.includes(`state.undecryptable: the encrypted value of requests.sql_text:${apiId}`),
        ),
        logs.join("\n"),
      );
      const untouched = (await h.call(ADMIN, "GET", `/api/requests/${slackId}`)).body as RequestView;
      assert.equal(untouched.sql, readSql(SLACK_SQL), "the row it came from still reads");
    } finally {
      await h.stop();
    }
  });

  /** Copies request `from`'s stored (sealed) sql_text over request `to`'s, as an attacker with the file could. */
  async function moveSqlText(from: number, to: number): Promise<void> {
    const statement =
      "update requests set sql_text = (select sql_text from requests where id = $1) where id = $2";
    if (stateOnPostgres()) {
      const client = new pg.Client(stateUrl(stateDatabaseName(dataDir)));
      await client.connect();
      await client.query(statement, [from, to]);
      await client.end();
      return;
    }
    const db = new Database(join(dataDir, "bot", "dbward.sqlite"));
    db.prepare(statement.replace("$1", "?").replace("$2", "?")).run(from, to);
    db.close();
  }
});

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? filesUnder(path) : [path];
  });
}
