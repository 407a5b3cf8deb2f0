/**
 * Attacks on the encrypted state at rest (docs/security-hardening.md, "Encrypted state at rest"),
 * by someone holding the state (the SQLite file and result files, or the PostgreSQL rows with
 * DBWARD_TEST_STATE=postgres) and able to restart the bot: with a real bot, the real agent on the
 * real PostgreSQL, and dbward's own CLI.
 *
 * - the free text of audit events (approval comment, rejection and cancel reasons, a failed
 *   execution's database error) reaches the bytes sealed, the API shows it in the clear, and
 *   `dbward audit verify` still passes without any key;
 * - a clear value written over a sealed one (a downgrade) is refused, in a store encrypted from
 *   its first row and in one `dbward state encrypt` finished;
 * - a result chunk copied over another execution's is refused, not shown.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import {
  chmodSync,
  copyFileSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import type { AgentHandle } from "@dbward/agent";
import { base64url, type AuditEventView, type RequestView } from "@dbward/shared";
import Database from "better-sqlite3";
import pg from "pg";
import { pino } from "pino";
import { kekFromEnvironment } from "../bot/src/crypto/key-encryption-key.ts";
import { isSealedText, openText } from "../bot/src/crypto/sealed-value.ts";
import { startTestAgent } from "./support/agent-harness.ts";
import { startBotHarness, type BotHarness } from "./support/bot-harness.ts";
import { dropStateDatabase, stateDatabaseName, stateOnPostgres, stateUrl } from "./support/postgres-state.ts";
import { spawnDbward, token } from "./support/processes.ts";
import { waitForStatus } from "./support/wait.ts";
import { SLACK_TEST_CONFIG } from "./slack/slack-harness.ts";

const ADMIN = token("dbw_");

const APPROVE_COMMENT = "zqApproveComment4410";
const REJECT_REASON = "zqRejectReason7702";
const CANCEL_REASON = "zqCancelReason1937";
const DB_ERROR_LITERAL = "zqDbErrorLiteral3321";
const FREE_TEXT = [APPROVE_COMMENT, REJECT_REASON, CANCEL_REASON, DB_ERROR_LITERAL];

const readSql = (literal: string): string =>
  `SELECT '${literal}' AS k, upper('zqresult') || g AS v FROM generate_series(1, 20) AS g`;

/** Every byte the state holds: the SQLite files and result files, or every PostgreSQL row. */
async function rawState(dataDir: string): Promise<Buffer> {
  if (!stateOnPostgres()) return Buffer.concat(filesUnder(join(dataDir, "bot")).map((f) => readFileSync(f)));
  const client = new pg.Client(stateUrl(stateDatabaseName(dataDir)));
  await client.connect();
  try {
    const tables = await client.query<{ t: string }>(
      "select tablename as t from pg_tables where schemaname = 'public'",
    );
    const parts: Buffer[] = [];
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

/** Runs `statement` (with $1.. parameters) on the raw state, as someone holding it could. */
async function tamper(dataDir: string, statement: string, params: unknown[]): Promise<void> {
  if (stateOnPostgres()) {
    const client = new pg.Client(stateUrl(stateDatabaseName(dataDir)));
    await client.connect();
    await client.query(statement, params);
    await client.end();
    return;
  }
  const db = new Database(join(dataDir, "bot", "dbward.sqlite"));
  db.prepare(statement.replace(/\$\d+/g, "?")).run(...params);
  db.close();
}

/** Rows of `statement` on the raw state ($1.. parameters). */
async function rawRows<T>(dataDir: string, statement: string, params: unknown[] = []): Promise<T[]> {
  if (stateOnPostgres()) {
    const client = new pg.Client(stateUrl(stateDatabaseName(dataDir)));
    await client.connect();
    try {
      return (await client.query(statement, params)).rows as T[];
    } finally {
      await client.end();
    }
  }
  const db = new Database(join(dataDir, "bot", "dbward.sqlite"), { readonly: true });
  try {
    return db.prepare(statement.replace(/\$\d+/g, "?")).all(...params) as T[];
  } finally {
    db.close();
  }
}

async function storedReason(dataDir: string, id: number): Promise<string> {
  if (stateOnPostgres()) {
    const client = new pg.Client(stateUrl(stateDatabaseName(dataDir)));
    await client.connect();
    const r = await client.query<{ reason: string }>("select reason from requests where id = $1", [id]);
    await client.end();
    return r.rows[0]?.reason ?? "";
  }
  const db = new Database(join(dataDir, "bot", "dbward.sqlite"), { readonly: true });
  const row = db.prepare("select reason from requests where id = ?").get(id) as { reason: string };
  db.close();
  return row.reason;
}

function stateArgs(dataDir: string): string[] {
  return stateOnPostgres()
    ? ["--state-url", stateUrl(stateDatabaseName(dataDir))]
    : ["--data-dir", join(dataDir, "bot")];
}

describe("attacks on the encrypted state", () => {
  const dirs: string[] = [];
  const newDir = (): string => {
    const d = mkdtempSync(join(tmpdir(), "dbward-enc-attack-"));
    dirs.push(d);
    return d;
  };
  after(async () => {
    for (const d of dirs) {
      rmSync(d, { recursive: true, force: true });
      if (stateOnPostgres()) await dropStateDatabase(d);
    }
  });
  // Everything the bots log, at every level: no key and no free text may reach it.
  const logs: string[] = [];
  const start = (dataDir: string, env: Record<string, string>): Promise<BotHarness> =>
    startBotHarness(SLACK_TEST_CONFIG, {
      dataDir,
      env: { DBWARD_ADMIN_TOKEN: ADMIN, ...env },
      logger: pino({ level: "trace" }, { write: (line: string) => void logs.push(line) }),
    });

  const K = randomBytes(32).toString("base64");
  const encrypted = newDir();
  let exportFile = "";
  let publicKey = "";
  let approvedId = 0;
  let otherResultId = 0;

  test("audit free text (approval comment, rejection and cancel reasons, a database error) is sealed in the bytes, clear through the API, and the chain verifies without a key", async () => {
    const h = await start(encrypted, { DBWARD_STATE_KEY: K });
    let agent: AgentHandle | undefined;
    try {
      agent = await startTestAgent(h);
      const alice = await h.tokenFor("alice");
      const bob = await h.tokenFor("bob");
      const ask = async (environment: string, sql: string): Promise<number> => {
        const r = await h.call(alice, "POST", "/api/requests", {
          database: "shop",
          environment,
          sql,
          reason: "attack suite",
        });
        assert.equal(r.status, 201, JSON.stringify(r.body));
        return (r.body as RequestView).id;
      };
      approvedId = await ask("production", readSql("zqApproved"));
      const approved = await h.call(bob, "POST", `/api/requests/${approvedId}/approve`, {
        comment: APPROVE_COMMENT,
      });
      assert.equal(approved.status, 200, JSON.stringify(approved.body));
      await waitForStatus(h, approvedId, "succeeded", 30_000);
      const rejected = await ask("production", readSql("zqRejected"));
      assert.equal(
        (await h.call(bob, "POST", `/api/requests/${rejected}/reject`, { reason: REJECT_REASON })).status,
        200,
      );
      const cancelled = await ask("production", readSql("zqCancelled"));
      assert.equal(
        (await h.call(alice, "POST", `/api/requests/${cancelled}/cancel`, { reason: CANCEL_REASON })).status,
        200,
      );
      // PostgreSQL's error quotes the literal: the error message is as secret as the SQL.
      const failed = await ask("staging", `SELECT '${DB_ERROR_LITERAL}'::int AS n`);
      const failedView = await waitForStatus(h, failed, "failed", 30_000);
      assert.ok(failedView.status_reason?.includes(DB_ERROR_LITERAL), failedView.status_reason ?? "");
      otherResultId = await ask("staging", readSql("zqOtherResult"));
      await waitForStatus(h, otherResultId, "succeeded", 30_000);

      // The export carries the events as stored, sealed free text included: what the chain and
      // the checkpoints cover, so it verifies offline without the state key.
      const exported = await fetch(`${h.url}/api/audit/export`, {
        headers: { authorization: `Bearer ${ADMIN}` },
      });
      assert.equal(exported.status, 200);
      const exportText = await exported.text();
      for (const s of FREE_TEXT)
        assert.equal(exportText.includes(s), false, `the export holds ${s} in the clear`);
      exportFile = join(encrypted, "export.ndjson");
      writeFileSync(exportFile, exportText);
      publicKey = base64url(h.bot.checkpointSigner.publicKey);
      const audit = (await h.call(ADMIN, "GET", "/api/audit?limit=1000")).body as {
        events: AuditEventView[];
      };
      const shown = JSON.stringify(audit.events);
      for (const s of FREE_TEXT) assert.ok(shown.includes(s), `GET /api/audit shows ${s} in the clear`);
    } finally {
      await agent?.stop();
      await h.stop();
    }
    const raw = await rawState(encrypted);
    for (const s of FREE_TEXT) assert.equal(raw.includes(s), false, `the state holds ${s} in the clear`);
    const verify = spawnDbward(["audit", "verify", ...stateArgs(encrypted)], {});
    assert.equal(await verify.exited, 0, verify.stderr() + verify.stdout());
    const offline = spawnDbward(["audit", "verify", "--export", exportFile, `--public-key=${publicKey}`], {});
    assert.equal(await offline.exited, 0, offline.stderr() + offline.stdout());
    const logged = logs.join("\n");
    assert.ok(logged.length > 0, "the bot logged");
    assert.equal(logged.includes(K), false, "the state key is never logged");
    for (const s of FREE_TEXT) assert.equal(logged.includes(s), false, `the log holds ${s}`);
    if (!stateOnPostgres()) {
      // dbward backup copies pages as they are: sealed, and its chain verifies without the key.
      const out = join(encrypted, "backup.sqlite");
      const backup = spawnDbward(["backup", "--data-dir", join(encrypted, "bot"), "--out", out], {});
      assert.equal(await backup.exited, 0, backup.stderr() + backup.stdout());
      const bytes = readFileSync(out);
      for (const s of [...FREE_TEXT, "zqApproved", "ZQRESULT1"])
        assert.equal(bytes.includes(s), false, `the backup holds ${s} in the clear`);
      rmSync(out);
    }
  });

  test("a sealed free text in an audit event changed in the file breaks the chain; moved to another event it does not open", async () => {
    // The chain hashes the sealed text as stored: verification of a changed one fails without a key.
    const from = stateOnPostgres()
      ? "select seq, details from audit_events where details like '%dbward-sealed:%' order by seq"
      : "select seq, details from audit_events where details like '%dbward-sealed:%' order by seq";
    let rows: { seq: number; details: string }[];
    if (stateOnPostgres()) {
      const client = new pg.Client(stateUrl(stateDatabaseName(encrypted)));
      await client.connect();
      rows = (await client.query<{ seq: number; details: string }>(from)).rows;
      await client.end();
    } else {
      const db = new Database(join(encrypted, "bot", "dbward.sqlite"), { readonly: true });
      rows = db.prepare(from).all() as { seq: number; details: string }[];
      db.close();
    }
    assert.ok(rows.length >= 4, "sealed free text in the audit chain");
    const [a] = rows;
    assert.ok(a !== undefined);
    const original = a.details;
    const edited = original.replace(
      /dbward-sealed:([A-Za-z0-9+/]{10})/,
      (_m, p: string) => `dbward-sealed:${p.split("").reverse().join("")}`,
    );
    assert.notEqual(edited, original);
    await tamper(encrypted, "update audit_events set details = $1 where seq = $2", [edited, a.seq]);
    const verify = spawnDbward(["audit", "verify", ...stateArgs(encrypted)], {});
    assert.notEqual(await verify.exited, 0, "a changed sealed value breaks the chain");
    assert.match(verify.stdout() + verify.stderr(), new RegExp(`\\b${a.seq}\\b`));
    await tamper(encrypted, "update audit_events set details = $1 where seq = $2", [original, a.seq]);
    const again = spawnDbward(["audit", "verify", ...stateArgs(encrypted)], {});
    assert.equal(await again.exited, 0, again.stderr() + again.stdout());
  });

  test("downgrade: a clear text written over a sealed one in a store encrypted from its first row is refused, not shown", async () => {
    const sealedReason = await storedReason(encrypted, approvedId);
    await tamper(encrypted, "update requests set reason = $1 where id = $2", ["zqForgedReason", approvedId]);
    const h = await start(encrypted, { DBWARD_STATE_KEY: K });
    try {
      const res = await h.call(ADMIN, "GET", `/api/requests/${approvedId}`);
      assert.notEqual(res.status, 200);
      assert.equal(JSON.stringify(res.body).includes("zqForgedReason"), false);
      const other = await h.call(ADMIN, "GET", `/api/requests/${otherResultId}`);
      assert.equal(other.status, 200, "the other requests still read");
    } finally {
      await h.stop();
    }
    // Put back, so the next attack starts from an untouched request.
    await tamper(encrypted, "update requests set reason = $1 where id = $2", [sealedReason, approvedId]);
  });

  test("a result chunk copied over another execution's does not open there: the result read is refused", async () => {
    if (stateOnPostgres()) {
      // PostgreSQL state without results.dir keeps chunks in result_chunks.
      const client = new pg.Client(stateUrl(stateDatabaseName(encrypted)));
      await client.connect();
      const keys = (
        await client.query<{ k: string }>("select distinct result_key as k from result_chunks order by 1")
      ).rows;
      assert.ok(keys.length >= 2, JSON.stringify(keys));
      await client.query(
        "update result_chunks set data = (select data from result_chunks where result_key = $1 order by seq limit 1) where result_key = $2",
        [keys[0]?.k, keys[1]?.k],
      );
      await client.end();
    } else {
      const root = join(encrypted, "bot", "results");
      const results = readdirSync(root)
        .filter((d) => statSync(join(root, d)).isDirectory())
        .sort();
      assert.ok(results.length >= 2, results.join(","));
      const [a, b] = results.map((d) => join(root, d, readdirSync(join(root, d)).sort()[0] ?? ""));
      assert.ok(a !== undefined && b !== undefined);
      copyFileSync(a, b);
    }
    const h = await start(encrypted, { DBWARD_STATE_KEY: K });
    try {
      const alice = await h.tokenFor("alice");
      const reads = await Promise.all(
        [approvedId, otherResultId].map(async (id) => {
          const r = await fetch(`${h.url}/api/requests/${id}/result?format=csv`, {
            headers: { authorization: `Bearer ${alice}` },
          });
          return { status: r.status, text: await r.text().catch((e: Error) => `aborted: ${e.message}`) };
        }),
      );
      // One of the two holds the other's chunk: that read fails and shows no row of the other.
      // One of the two holds the other's chunk: that read is cut off (the response never ends
      // cleanly, so no client takes it for an empty result) and shows no row of the other.
      const ok = reads.filter((r) => r.status === 200 && /ZQRESULT20\n$/.test(r.text));
      const bad = reads.filter((r) => !ok.includes(r));
      assert.equal(ok.length, 1, JSON.stringify(reads).slice(0, 400));
      assert.ok(bad[0] !== undefined && (bad[0].status !== 200 || bad[0].text.startsWith("aborted")));
      assert.equal(/zqApproved|zqOtherResult/.test(bad[0].text), false, bad[0].text);
    } finally {
      await h.stop();
    }
  });

  let laterEncrypted = "";
  test("downgrade after dbward state encrypt: a store encrypted later refuses clear values once the command finished, and a rerun after it is a no-op", async () => {
    const dataDir = newDir();
    laterEncrypted = dataDir;
    const h = await start(dataDir, {});
    let id: number;
    try {
      const alice = await h.tokenFor("alice");
      const r = await h.call(alice, "POST", "/api/requests", {
        database: "shop",
        environment: "production",
        sql: readSql("zqBeforeKey"),
        reason: "zqClearReasonBefore",
      });
      assert.equal(r.status, 201);
      id = (r.body as RequestView).id;
    } finally {
      await h.stop();
    }
    // The key set on a store with clear rows: those are read as they are until the command ran.
    const lenient = await start(dataDir, { DBWARD_STATE_KEY: K });
    try {
      const view = (await lenient.call(ADMIN, "GET", `/api/requests/${id}`)).body as RequestView;
      assert.equal(view.reason, "zqClearReasonBefore");
    } finally {
      await lenient.stop();
    }
    const run = spawnDbward(["state", "encrypt", ...stateArgs(dataDir)], { DBWARD_STATE_KEY: K });
    assert.equal(await run.exited, 0, run.stderr() + run.stdout());
    const raw = await rawState(dataDir);
    assert.equal(raw.includes("zqClearReasonBefore"), false, "sealed, and the old bytes gone");
    const rerun = spawnDbward(["state", "encrypt", "--json", ...stateArgs(dataDir)], { DBWARD_STATE_KEY: K });
    assert.equal(await rerun.exited, 0, rerun.stderr() + rerun.stdout());
    const summary = JSON.parse(rerun.stdout()) as { values: Record<string, number> };
    assert.equal(
      Object.values(summary.values).reduce((n, v) => n + v, 0),
      0,
    );

    await tamper(dataDir, "update requests set reason = $1 where id = $2", ["zqForgedAfterEncrypt", id]);
    const strict = await start(dataDir, { DBWARD_STATE_KEY: K });
    try {
      const res = await strict.call(ADMIN, "GET", `/api/requests/${id}`);
      assert.notEqual(res.status, 200);
      assert.equal(JSON.stringify(res.body).includes("zqForgedAfterEncrypt"), false);
    } finally {
      await strict.stop();
    }
  });

  test("two stores under one state key: a sealed value copied from one into the same place of the other does not open (each store has its own data key)", async () => {
    const [fromA] = await rawRows<{ reason: string }>(encrypted, "select reason from requests where id = 1");
    const [inB] = await rawRows<{ reason: string }>(
      laterEncrypted,
      "select reason from requests where id = 1",
    );
    assert.ok(fromA !== undefined && inB !== undefined);
    await tamper(laterEncrypted, "update requests set reason = $1 where id = 1", [fromA.reason]);
    logs.length = 0;
    const h = await start(laterEncrypted, { DBWARD_STATE_KEY: K });
    try {
      const res = await h.call(ADMIN, "GET", "/api/requests/1");
      assert.notEqual(res.status, 200);
      assert.ok(
        logs.some((l) =>
          /state\.undecryptable: .*requests\.reason:1 .*data key [0-9a-f]{16} is not in this store/.test(l),
        ),
        logs.join("\n").slice(0, 2000),
      );
    } finally {
      await h.stop();
    }
    await tamper(laterEncrypted, "update requests set reason = $1 where id = 1", [inB.reason]);
  });

  test("rotation starts a fresh data key: the retired key with a copy of state_keys from before opens nothing written after; a start that keeps DBWARD_STATE_KEY_PREVIOUS set is warned", async () => {
    const before = await rawRows<{ key_id: string; wrapped: Buffer }>(
      encrypted,
      "select key_id, wrapped from state_keys",
    );
    const K2 = randomBytes(32).toString("base64");
    logs.length = 0;
    const h = await start(encrypted, { DBWARD_STATE_KEY: K2, DBWARD_STATE_KEY_PREVIOUS: K });
    let id: number;
    try {
      assert.ok(logs.some((l) => l.includes("DBWARD_STATE_KEY_PREVIOUS is set but no data key needs it")));
      const old = (await h.call(ADMIN, "GET", `/api/requests/${otherResultId}`)).body as RequestView;
      assert.equal(old.sql, readSql("zqOtherResult"), "values from before the rotation still read");
      const alice = await h.tokenFor("alice");
      const r = await h.call(alice, "POST", "/api/requests", {
        database: "shop",
        environment: "production",
        sql: readSql("zqAfterRotation"),
        reason: "zqReasonAfterRotation",
      });
      assert.equal(r.status, 201);
      id = (r.body as RequestView).id;
    } finally {
      await h.stop();
    }
    // The attacker: the retired KEK and the state_keys rows of a backup taken before the rotation.
    const retired = kekFromEnvironment({ DBWARD_STATE_KEY: K }).current;
    assert.ok(retired !== undefined);
    const oldKeys = new Map<string, Buffer>();
    for (const k of before)
      oldKeys.set(k.key_id, (await retired.unwrap(k.key_id, k.wrapped)).subarray(0, 32));
    const [row] = await rawRows<{ reason: string }>(encrypted, "select reason from requests where id = $1", [
      id,
    ]);
    assert.ok(row !== undefined && isSealedText(row.reason));
    assert.throws(
      () => openText((kid) => oldKeys.get(kid), `requests.reason:${id}`, row.reason),
      /state\.undecryptable: .*is not in this store/,
    );
    // The same copy does open what was written before the rotation: that is what a leaked KEK costs.
    const [older] = await rawRows<{ reason: string }>(
      encrypted,
      "select reason from requests where id = $1",
      [otherResultId],
    );
    assert.ok(older !== undefined);
    assert.equal(
      openText((kid) => oldKeys.get(kid), `requests.reason:${otherResultId}`, older.reason),
      "attack suite",
    );
    const h2 = await start(encrypted, { DBWARD_STATE_KEY: K2 });
    await h2.stop();
  });

  test("dbward state encrypt killed (SIGKILL) half way: the store still opens, a rerun seals the rest, nothing is lost, and clear values are refused only after it finished", async () => {
    const dataDir = newDir();
    const h = await start(dataDir, {});
    try {
      const alice = await h.tokenFor("alice");
      const r = await h.call(alice, "POST", "/api/requests", {
        database: "shop",
        environment: "production",
        sql: readSql("zqKillLiteral"),
        reason: "zqKillReason",
      });
      assert.equal(r.status, 201);
    } finally {
      await h.stop();
    }
    // Many clear rows, so the command is still sealing when it is killed: copies of the request.
    const columns = stateOnPostgres()
      ? (
          await rawRows<{ c: string }>(
            dataDir,
            "select column_name as c from information_schema.columns where table_name = 'requests' and column_name <> 'id'",
          )
        ).map((r) => r.c)
      : (await rawRows<{ name: string }>(dataDir, "select name from pragma_table_info('requests')"))
          .map((r) => r.name)
          .filter((c) => c !== "id");
    const list = columns.join(", ");
    for (let i = 0; i < 13; i += 1)
      await tamper(dataDir, `insert into requests (${list}) select ${list} from requests`, []);
    const total = 2 ** 13;
    const sealedCount = async (): Promise<number> =>
      Number(
        (
          await rawRows<{ n: number }>(
            dataDir,
            "select count(*) as n from requests where substr(reason, 1, 14) = 'dbward-sealed:'",
          )
        )[0]?.n ?? 0,
      );
    const run = spawnDbward(["state", "encrypt", ...stateArgs(dataDir)], { DBWARD_STATE_KEY: K });
    const deadline = Date.now() + 60_000;
    let atKill = 0;
    while (Date.now() < deadline) {
      atKill = await sealedCount().catch(() => 0);
      if (atKill > 0) break;
      await new Promise((r) => setTimeout(r, 5));
    }
    run.child.kill("SIGKILL");
    await run.exited;
    const afterKill = await sealedCount();
    assert.ok(afterKill > 0 && afterKill < total, `killed half way: ${afterKill} of ${total} sealed`);

    // Half sealed: the bot with the key reads both kinds (the store is not yet marked all sealed).
    const half = await start(dataDir, { DBWARD_STATE_KEY: K });
    try {
      for (const id of [1, total])
        assert.equal(
          ((await half.call(ADMIN, "GET", `/api/requests/${id}`)).body as RequestView).reason,
          "zqKillReason",
        );
    } finally {
      await half.stop();
    }
    const rerun = spawnDbward(["state", "encrypt", ...stateArgs(dataDir)], { DBWARD_STATE_KEY: K });
    assert.equal(await rerun.exited, 0, rerun.stderr() + rerun.stdout());
    assert.equal(await sealedCount(), total, "every row sealed after the rerun");
    assert.equal((await rawState(dataDir)).includes("zqKillReason"), false);
    await tamper(dataDir, "update requests set reason = $1 where id = 2", ["zqForgedAfterKill"]);
    const done = await start(dataDir, { DBWARD_STATE_KEY: K });
    try {
      for (const id of [1, total / 2, total]) {
        const view = (await done.call(ADMIN, "GET", `/api/requests/${id}`)).body as RequestView;
        assert.equal(view.reason, "zqKillReason");
        assert.equal(view.sql, readSql("zqKillLiteral"));
      }
      assert.notEqual(
        (await done.call(ADMIN, "GET", "/api/requests/2")).status,
        200,
        "marked all sealed at the end",
      );
    } finally {
      await done.stop();
    }
  });

  test("the _FILE variant refuses a key file others can read; the bot does not start on it", async () => {
    const dataDir = newDir();
    const file = join(dataDir, "state.key");
    writeFileSync(file, K, { mode: 0o644 });
    chmodSync(file, 0o644);
    await assert.rejects(
      () => start(dataDir, { DBWARD_STATE_KEY_FILE: file }),
      /DBWARD_STATE_KEY_FILE .* is readable by group or others \(mode 644\)/,
    );
  });
});

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? filesUnder(path) : [path];
  });
}
