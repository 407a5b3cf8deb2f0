/**
 * Results at any size, end to end over real HTTP with the real agent on the real PostgreSQL and
 * MariaDB: rows stream from the database through the agent to the bot's result store in chunks,
 * and come back streamed as CSV, NDJSON or JSON to whoever the result policy allows. Caps are
 * reported as truncation; cancel stops the query on the server; the statement timeout holds.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { loadAgentConfig, startAgent, type AgentHandle } from "@dbward/agent";
import { verifyAuditStore } from "@dbward/bot";
import { base64url, type AuditListView, type RequestView, type ResultView } from "@dbward/shared";
import mysql from "mysql2/promise";
import pg from "pg";
import { pino } from "pino";
import { downloadResult } from "../cli/src/commands/result-download.ts";
import { MARIADB_URL, PG_URL } from "./support/agent-harness.ts";
import { startBotHarness, TEST_CONFIG, type BotHarness } from "./support/bot-harness.ts";
import { waitForStatus } from "./support/wait.ts";

const ROWS = 150_000;
/** Above the 1,000,000 rows that were once a result's limit. */
const LARGE_ROWS = 1_200_000;
const table = `dbward_results_${randomBytes(4).toString("hex")}`;
const CONFIG = `${TEST_CONFIG}
execution_policies:
  - { database: shop, environment: staging, row_cap: 2000000 }
  - { database: legacy, environment: production, row_cap: 1000000, statement_timeout_ms: 120000 }
  - { database: shop, environment: production, row_cap: 1000, result_max_bytes: 16384, statement_timeout_ms: 1000 }
results:
  readers: [requester, "user:carol"]
`;

/** PostgreSQL's own CSV of a query (COPY … CSV HEADER through psql), the reference to match. */
function copyCsv(sql: string): Buffer {
  return execFileSync("psql", [PG_URL, "-X", "-q", "-c", `\\copy (${sql}) TO STDOUT WITH CSV HEADER`], {
    maxBuffer: 512 * 1024 * 1024,
  });
}

const sha256 = (b: Buffer | string): string => createHash("sha256").update(b).digest("hex");

/**
 * The test agent (agent-harness.ts's databases) with shop/staging allowed more rows than an
 * agent's default row_cap of 1,000,000, so a result can go past it.
 */
function startAgentForLargeResults(h: BotHarness): Promise<AgentHandle> {
  const yaml = [
    "id: agent-1",
    `bot_url: ${h.url}`,
    "keys:",
    `  ${h.bot.signingKey.kid}: ${base64url(h.bot.signingKey.publicKey)}`,
    `data_dir: ${join(h.dataDir, "agent-1")}`,
    "poll_wait_ms: 2000",
    "databases:",
    "  - { name: shop, environment: production, driver: postgres, url_env: PG, operations: [read, write] }",
    "  - { name: shop, environment: staging, driver: postgres, url_env: PG, operations: [read, write], row_cap: 2000000 }",
    "  - { name: legacy, environment: production, driver: mysql, url_env: MARIA, operations: [read, write] }",
  ].join("\n");
  const env = { DBWARD_AGENT_TOKEN: h.agentTokens["agent-1"] ?? "", PG: PG_URL, MARIA: MARIADB_URL };
  return startAgent(loadAgentConfig(yaml, env, "agent-1 config"), { logger: pino({ level: "silent" }) });
}

/** Values psql's CSV keeps apart or quotes, and types whose JSON form is not a string. */
const TRICKY = `SELECT * FROM (VALUES
  (1, NULL::text, ''::text, 'a,b', 'say "hi"', E'line\\nbreak', 'é中😀', 1.50::numeric, 9007199254740993::int8,
   2::int4, 0.1::float8, true, '2024-02-03 04:05:06.789+02'::timestamptz, '2024-02-03 04:05:06'::timestamp,
   '\\x00fffe'::bytea, ARRAY[1, NULL]::int4[], ARRAY['a b', 'c,d']::text[], '{"k": [1, "v"]}'::jsonb),
  (2, 'x', NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, false, NULL, NULL, NULL, NULL, NULL, NULL)
) AS t(id, nothing, empty, comma, quote, newline, unicode, num, big, small, dbl, yes, zoned, local_ts, bytes,
       ints, texts, doc)
ORDER BY id`;

describe("results at any size, end to end", () => {
  let h: BotHarness;
  let agent: AgentHandle;
  const pgClient = new pg.Client(PG_URL);
  let maria: mysql.Connection;

  before(async () => {
    await pgClient.connect();
    await pgClient.query(`CREATE TABLE ${table} AS
      SELECT g AS id,
             CASE WHEN g % 1000 = 0 THEN 'a,"quoted"' || chr(10) || 'line' WHEN g % 777 = 0 THEN ''
                  WHEN g % 555 = 0 THEN NULL ELSE 'name-' || g END AS name,
             (g * 1.25)::numeric(14, 2) AS amount,
             g::bigint * 3000000000 AS big
      FROM generate_series(1, ${ROWS}) AS g`);
    maria = await mysql.createConnection(MARIADB_URL);
    h = await startBotHarness(CONFIG);
    agent = await startAgentForLargeResults(h);
  });
  after(async () => {
    await agent.stop();
    await h.stop();
    await pgClient.query(`DROP TABLE IF EXISTS ${table}`);
    await pgClient.end();
    await maria.end();
  });

  async function create(
    user: string,
    database: string,
    environment: string,
    sql: string,
  ): Promise<RequestView> {
    const res = await h.call(await h.tokenFor(user), "POST", "/api/requests", {
      database,
      environment,
      sql,
      reason: "test",
    });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    return res.body as RequestView;
  }

  /** pg_sleep and SLEEP are not plain reads: they go through their workflow's approvals. */
  async function approved(r: RequestView): Promise<RequestView> {
    let view = r;
    for (const approver of ["bob", "carol"]) {
      if (view.status !== "pending_approval") break;
      const res = await h.call(await h.tokenFor(approver), "POST", `/api/requests/${r.id}/approve`, {});
      assert.equal(res.status, 200, JSON.stringify(res.body));
      view = res.body as RequestView;
    }
    return view;
  }

  async function download(
    user: string,
    id: number,
    format: string,
  ): Promise<{ res: Response; body: Buffer }> {
    const res = await fetch(`${h.url}/api/requests/${id}/result?format=${format}`, {
      headers: { authorization: `Bearer ${await h.tokenFor(user)}` },
    });
    return { res, body: Buffer.from(await res.arrayBuffer()) };
  }

  /** `dbward request result <id> --format csv -o FILE` as Alice, through the CLI's own code. */
  async function cliDownload(id: number, file: string, more: { follow?: boolean; notes?: string[] } = {}) {
    return downloadResult({
      url: h.url,
      token: await h.tokenFor("alice"),
      id,
      format: "csv",
      out: file,
      follow: more.follow === true,
      progress: { write: (text) => more.notes?.push(text) },
    });
  }

  test(`a ${ROWS.toLocaleString("en")}-row SELECT on PostgreSQL streams into a CSV identical to PostgreSQL's own`, async () => {
    const sql = `SELECT id, name, amount, big FROM ${table} ORDER BY id`;
    const r = await create("alice", "shop", "staging", sql);
    const done = await waitForStatus(h, r.id, "succeeded", 120_000);
    assert.equal(done.executions[0]?.row_count, ROWS);
    const { res, body } = await download("alice", r.id, "csv");
    assert.equal(res.status, 200);
    assert.equal(res.headers.get("x-dbward-row-count"), String(ROWS));
    assert.equal(res.headers.get("x-dbward-truncated"), "false");
    assert.equal(sha256(body), sha256(copyCsv(sql)), "same bytes as COPY … CSV HEADER");
  });

  test(`a result of ${LARGE_ROWS.toLocaleString("en")} rows, past the old 1,000,000-row limit, is stored whole`, async () => {
    const sql = `SELECT g FROM generate_series(1, ${LARGE_ROWS}) AS g`;
    const r = await create("alice", "shop", "staging", sql);
    const done = await waitForStatus(h, r.id, "succeeded", 120_000);
    assert.equal(done.executions[0]?.row_count, LARGE_ROWS);
    const { res, body } = await download("alice", r.id, "csv");
    assert.equal(res.headers.get("x-dbward-truncated"), "false");
    assert.equal(sha256(body), sha256(copyCsv(sql)), "same bytes as COPY … CSV HEADER");
  });

  test("dbward request result writes psql's CSV bytes for tricky values, and NDJSON and JSON keep their types", async () => {
    const r = await approved(await create("alice", "shop", "staging", TRICKY));
    await waitForStatus(h, r.id, "succeeded", 60_000);
    const dir = mkdtempSync(join(tmpdir(), "dbward-cli-tricky-"));
    try {
      const file = join(dir, "out.csv");
      const alice = await h.tokenFor("alice");
      const progress = { write: () => undefined };
      await downloadResult({ url: h.url, token: alice, id: r.id, format: "csv", out: file, progress });
      assert.equal(readFileSync(file, "utf8"), copyCsv(TRICKY).toString("utf8"));
      await downloadResult({ url: h.url, token: alice, id: r.id, format: "ndjson", out: file, progress });
      const [columns, ...rows] = readFileSync(file, "utf8")
        .trimEnd()
        .split("\n")
        .map((l) => JSON.parse(l) as unknown[]);
      assert.equal(columns?.length, 18);
      assert.deepEqual(rows, [
        [
          1,
          null,
          "",
          "a,b",
          'say "hi"',
          "line\nbreak",
          "é中😀",
          "1.50",
          "9007199254740993",
          2,
          0.1,
          true,
          "2024-02-03T02:05:06.789Z",
          "2024-02-03 04:05:06",
          "AP/+",
          [1, null],
          ["a b", "c,d"],
          { k: [1, "v"] },
        ],
        [
          2,
          "x",
          null,
          null,
          null,
          null,
          null,
          null,
          null,
          null,
          null,
          false,
          null,
          null,
          null,
          null,
          null,
          null,
        ],
      ]);
      const json = JSON.parse((await download("alice", r.id, "json")).body.toString("utf8")) as ResultView;
      assert.deepEqual(json.rows, rows);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("a json and a jsonb value 10,000 deep finish the read and download as valid JSON and NDJSON", async () => {
    const deep = `${"[".repeat(10_000)}${"]".repeat(10_000)}`;
    const sql = `SELECT (repeat('[', 10000) || repeat(']', 10000))::json AS j,
      (repeat('[', 10000) || repeat(']', 10000))::jsonb AS b`;
    const r = await create("alice", "shop", "staging", sql);
    const done = await waitForStatus(h, r.id, "succeeded", 60_000);
    assert.equal(done.executions[0]?.row_count, 1);
    const ndjson = (await download("alice", r.id, "ndjson")).body.toString("utf8");
    const lines = ndjson.trimEnd().split("\n");
    assert.equal(lines.length, 2);
    assert.equal(lines[1], `[${deep},${deep}]`);
    const json = (await download("alice", r.id, "json")).body.toString("utf8");
    assert.ok(json.endsWith(`[${deep},${deep}]\n]}\n`));
    JSON.parse(json);
  });

  test("the JSON answer is a preview of the first rows, saying how many the result holds", async () => {
    const sql = `SELECT id FROM ${table} ORDER BY id`;
    const r = await create("alice", "shop", "staging", sql);
    await waitForStatus(h, r.id, "succeeded", 120_000);
    const view = (await h.call(await h.tokenFor("alice"), "GET", `/api/requests/${r.id}/result?limit=3`))
      .body as ResultView;
    assert.deepEqual(
      { rows: view.rows, row_count: view.row_count, preview: view.preview, truncated: view.truncated },
      { rows: [[1], [2], [3]], row_count: ROWS, preview: true, truncated: false },
    );
    const whole = await download("alice", r.id, "json");
    const parsed = JSON.parse(whole.body.toString("utf8")) as ResultView;
    assert.equal(parsed.rows.length, ROWS);
    assert.equal(parsed.preview, false);
    assert.deepEqual(parsed.rows.at(-1), [ROWS]);
  });

  test("100,000 rows from MariaDB stream as NDJSON: column names first, then every row", async () => {
    const r = await create(
      "alice",
      "legacy",
      "production",
      "SELECT seq AS n, CONCAT('row-', seq) AS label FROM seq_1_to_100000",
    );
    await waitForStatus(h, r.id, "succeeded", 120_000);
    const { body } = await download("alice", r.id, "ndjson");
    const lines = body.toString("utf8").trimEnd().split("\n");
    assert.deepEqual(JSON.parse(lines[0] ?? ""), ["n", "label"]);
    const rows = lines.slice(1).map((l) => JSON.parse(l) as [string, string]);
    assert.equal(rows.length, 100_000);
    assert.equal(
      rows.reduce((sum, [n]) => sum + Number(n), 0),
      (100_000 * 100_001) / 2,
    );
    assert.deepEqual(rows[41], ["42", "row-42"]);
  });

  test("dbward request result --format csv -o FILE writes the whole result and warns when it is truncated", async () => {
    const r = await create(
      "alice",
      "shop",
      "production",
      `SELECT id FROM ${table} WHERE id <= 1500 ORDER BY id`,
    );
    await waitForStatus(h, r.id, "succeeded", 60_000);
    const dir = mkdtempSync(join(tmpdir(), "dbward-cli-result-"));
    try {
      const notes: string[] = [];
      const file = join(dir, "out.csv");
      const summary = await cliDownload(r.id, file, { notes });
      assert.deepEqual([summary.rows, summary.truncated], [1000, "rows"]);
      assert.equal(readFileSync(file, "utf8").trimEnd().split("\n").length, 1001);
      assert.match(
        notes.join(""),
        /warning: the result is truncated \(it reached the execution policy's row cap\)/,
      );
      await assert.rejects(
        downloadResult({
          url: h.url,
          token: await h.tokenFor("bob"),
          id: r.id,
          format: "csv",
          progress: { write: () => undefined },
        }),
        /auth\.forbidden/,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("dbward request result --follow, started with the request, writes PostgreSQL's CSV bytes as the rows are stored", async () => {
    // About 6.6 MB of rows (chunk 0 goes up), then 1.5 s of nothing, then as much again: the
    // reader is following by then, however fast the rest goes. pg_sleep needs its approvals.
    const sql = `SELECT g, repeat('x', 100) AS pad, CASE WHEN g = 60000 THEN pg_sleep(1.5)::text END AS s FROM generate_series(1, 120000) AS g`;
    const r = await approved(await create("alice", "shop", "staging", sql));
    const dir = mkdtempSync(join(tmpdir(), "dbward-cli-follow-"));
    try {
      const file = join(dir, "out.csv");
      const summary = await cliDownload(r.id, file, { follow: true });
      assert.deepEqual([summary.rows, summary.truncated], [120_000, null]);
      assert.equal(sha256(readFileSync(file)), sha256(copyCsv(sql)), "same bytes as COPY … CSV HEADER");
      // It was followed (its rows streamed while stored), not downloaded once stored.
      const audit = (await h.call(h.adminToken, "GET", `/api/audit?target=request:${r.id}`))
        .body as AuditListView;
      const reads = audit.events.filter((e) => e.action === "result.read");
      assert.deepEqual(
        reads.map((e) => (e.details as { follow?: boolean }).follow),
        [true],
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("a followed result whose execution fails after some chunks leaves no file, and says why", async () => {
    // About 6.6 MB of rows (chunk 0 goes up), 1.5 s for the reader to be following, then a
    // division by zero ends the COPY.
    const sql = `SELECT g, repeat('x', 100) AS pad, CASE WHEN g = 60000 THEN pg_sleep(1.5)::text END AS s, 1 / (g - 100000) AS v FROM generate_series(1, 200000) AS g`;
    const r = await approved(await create("alice", "shop", "staging", sql));
    const dir = mkdtempSync(join(tmpdir(), "dbward-cli-follow-"));
    try {
      const file = join(dir, "out.csv");
      await assert.rejects(
        cliDownload(r.id, file, { follow: true }),
        (err: Error) => /request #\d+ is failed/.test(err.message) && /was removed/.test(err.message),
      );
      assert.equal(existsSync(file), false, "no partial file");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("the row cap is reported as truncation, never silently", async () => {
    const r = await create(
      "alice",
      "shop",
      "production",
      `SELECT id FROM ${table} WHERE id <= 2000 ORDER BY id`,
    );
    const done = await waitForStatus(h, r.id, "succeeded", 60_000);
    assert.equal(done.executions[0]?.row_count, 1000);
    const { res, body } = await download("alice", r.id, "csv");
    assert.equal(res.headers.get("x-dbward-truncated"), "rows");
    assert.equal(body.toString("utf8").trimEnd().split("\n").length, 1001);
  });

  test("the byte cap is reported as truncation by bytes", async () => {
    const r = await create(
      "alice",
      "shop",
      "production",
      `SELECT name, big FROM ${table} WHERE id <= 1000 ORDER BY id`,
    );
    await waitForStatus(h, r.id, "succeeded", 60_000);
    const view = (await h.call(await h.tokenFor("alice"), "GET", `/api/requests/${r.id}/result`))
      .body as ResultView;
    assert.equal(view.truncated, true);
    assert.equal(view.truncated_by, "bytes");
    assert.ok((view.bytes ?? Infinity) <= 16384);
    assert.ok(view.row_count < 1000);
  });

  test("the result policy refuses a reader it does not name, and audits the refusal", async () => {
    const r = await create("alice", "shop", "staging", `SELECT id FROM ${table} WHERE id <= 3`);
    await waitForStatus(h, r.id, "succeeded");
    const bob = await download("bob", r.id, "csv");
    assert.equal(bob.res.status, 403);
    assert.equal(
      (JSON.parse(bob.body.toString("utf8")) as { error: { code: string } }).error.code,
      "auth.forbidden",
    );
    assert.equal((await download("carol", r.id, "csv")).res.status, 200, "user:carol is named a reader");
    assert.equal((await download("olga", r.id, "csv")).res.status, 200, "an operator holds result.read_any");
    const audit = (await h.call(h.adminToken, "GET", `/api/audit?target=request:${r.id}&limit=100`))
      .body as AuditListView;
    assert.ok(audit.events.some((e) => e.action === "result.read_refused" && e.actor === "user:bob"));
    assert.ok(audit.events.some((e) => e.action === "result.read" && e.actor === "user:carol"));
  });

  test("an unknown format is refused", async () => {
    const r = await create("alice", "shop", "staging", "SELECT 1 AS one");
    await waitForStatus(h, r.id, "succeeded");
    const res = await download("alice", r.id, "xlsx");
    assert.equal(res.res.status, 400);
  });

  for (const target of [
    {
      db: "shop",
      env: "staging",
      sql: "SELECT pg_sleep(60) AS e2e_cancel_marker",
      name: "PostgreSQL pg_sleep(60)",
    },
    {
      db: "legacy",
      env: "production",
      sql: "SELECT SLEEP(60) AS e2e_cancel_marker",
      name: "MariaDB SLEEP(60)",
    },
  ]) {
    test(`cancelling a running ${target.name} stops it on the server within seconds`, async () => {
      const r = await approved(await create("alice", target.db, target.env, target.sql));
      await waitForStatus(h, r.id, "running");
      const running = target.db === "shop" ? pgRunning : mariaRunning;
      await until(async () => (await running()) === 1, 10_000);
      const cancel = await h.call(await h.tokenFor("alice"), "POST", `/api/requests/${r.id}/cancel`, {
        reason: "too slow",
      });
      assert.equal(cancel.status, 200, JSON.stringify(cancel.body));
      await until(async () => (await running()) === 0, 15_000);
      const audit = async (): Promise<AuditListView> =>
        (await h.call(h.adminToken, "GET", `/api/audit?target=request:${r.id}&limit=100`))
          .body as AuditListView;
      await until(
        async () => (await audit()).events.some((e) => e.action === "execution.finished_after_cancel"),
        15_000,
      );
      const view = (await h.call(await h.tokenFor("olga"), "GET", `/api/requests/${r.id}`))
        .body as RequestView;
      assert.equal(view.status, "cancelled");
      assert.equal(view.executions[0]?.status, "cancelled");
      assert.equal(view.executions[0]?.error?.code, "execution.cancelled");
    });
  }

  async function pgRunning(): Promise<number> {
    const r = await pgClient.query(
      "SELECT count(*)::int AS n FROM pg_stat_activity WHERE state = 'active' AND query LIKE '%e2e_cancel_marker%' AND pid <> pg_backend_pid()",
    );
    return (r.rows[0] as { n: number }).n;
  }
  async function mariaRunning(): Promise<number> {
    const [rows] = await maria.query(
      "SELECT COUNT(*) AS n FROM information_schema.PROCESSLIST WHERE COMMAND = 'Query' AND INFO LIKE '%e2e_cancel_marker%' AND ID <> CONNECTION_ID()",
    );
    return Number((rows as { n: number }[])[0]?.n);
  }

  test("a statement past its policy's timeout ends timed_out", async () => {
    const r = await approved(await create("alice", "shop", "production", "SELECT pg_sleep(10)"));
    const done = await waitForStatus(h, r.id, "timed_out", 20_000);
    assert.equal(done.executions[0]?.error?.code, "execution.timeout");
  });

  test("after all of it the audit chain verifies", async () => {
    const verdict = await verifyAuditStore(h.bot.store);
    assert.equal(verdict.ok, true, JSON.stringify(verdict));
  });
});

async function until(condition: () => Promise<boolean>, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await condition())) {
    if (Date.now() > deadline) assert.fail("condition not reached in time");
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
