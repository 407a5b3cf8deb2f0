/**
 * The agent's loop making dry runs on the real MariaDB (run-preflight.ts, preflight/dry-run-mysql.ts,
 * preflight/dry-run-mysql-tables.ts) against a fake bot: it counts an UPDATE's rows and leaves the
 * table as it was; a MyISAM table (whose change no ROLLBACK undoes), a table with a trigger, and a
 * table named only in a subquery that is MyISAM are refused before anything runs; a write calling a
 * stored function (which writes to a side table) is refused by the review's call check and the
 * function never runs; a row another session locked makes it give up, changing nothing.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { after, before, describe, test, type TestContext } from "node:test";
import mysql from "mysql2/promise";
import { encodePublicKey, sha256Hex, signExecutionToken, type PreflightClaimResponse } from "@dbward/shared";
import { startAgent } from "./agent.ts";
import { loadAgentConfig } from "./config.ts";
import { FakeBot, until } from "../../test/support/agent/fake-bot.ts";
import {
  AGENT_ID,
  fixedClock,
  generateSigningKey,
  MARIADB_URL,
  NOW_MS,
  silentLogger,
  tempDir,
} from "../../test/support/agent/unit-helpers.ts";

const S = `_${process.pid}`;
const ITEMS = `drm_items${S}`;
const MYISAM = `drm_myisam${S}`;
const TRIGGERED = `drm_triggered${S}`;
const SIDE = `drm_side${S}`;
const FN = `drm_note${S}`;

let admin: mysql.Connection;

async function scalar(sql: string): Promise<string> {
  const [rows] = await admin.query<mysql.RowDataPacket[]>(`SELECT (${sql}) AS v`);
  return String(rows[0]?.["v"]);
}

before(async () => {
  admin = await mysql.createConnection({ uri: MARIADB_URL, multipleStatements: true });
  await admin.query(`
    CREATE TABLE ${ITEMS} (id int PRIMARY KEY, n int NOT NULL) ENGINE=InnoDB;
    INSERT INTO ${ITEMS} VALUES (1,1),(2,2),(3,3),(4,4),(5,5),(6,6);
    CREATE TABLE ${MYISAM} (id int PRIMARY KEY, n int NOT NULL) ENGINE=MyISAM;
    INSERT INTO ${MYISAM} VALUES (1,1),(2,2);
    CREATE TABLE ${SIDE} (note varchar(100)) ENGINE=MyISAM;
    CREATE TABLE ${TRIGGERED} (id int PRIMARY KEY, n int NOT NULL) ENGINE=InnoDB;
    INSERT INTO ${TRIGGERED} VALUES (1,1),(2,2);
    CREATE TRIGGER ${TRIGGERED}_note BEFORE UPDATE ON ${TRIGGERED} FOR EACH ROW INSERT INTO ${SIDE} VALUES ('trigger');
    CREATE FUNCTION ${FN}(x int) RETURNS int MODIFIES SQL DATA BEGIN INSERT INTO ${SIDE} VALUES ('function'); RETURN x; END;
  `);
});

after(async () => {
  await admin.query(`
    DROP TABLE IF EXISTS ${ITEMS}, ${MYISAM}, ${TRIGGERED}, ${SIDE};
    DROP FUNCTION IF EXISTS ${FN};
  `);
  await admin.end();
});

const ENV = { DBWARD_AGENT_TOKEN: "agent-secret-token", MY: MARIADB_URL };

function setup(t: TestContext) {
  const key = generateSigningKey();
  const config = loadAgentConfig(
    JSON.stringify({
      id: AGENT_ID,
      bot_url: "http://127.0.0.1:9",
      keys: { [key.kid]: encodePublicKey(key) },
      data_dir: join(tempDir(t), "data"),
      databases: [
        {
          name: "legacy",
          environment: "production",
          driver: "mysql",
          url_env: "MY",
          operations: ["read", "write"],
          dry_run: true,
        },
      ],
    }),
    ENV,
  );
  const bot = new FakeBot();
  let n = 0;
  const claim = (sql: string): PreflightClaimResponse => {
    n += 1;
    const iat = Math.floor(NOW_MS / 1000);
    return {
      preflight_id: `${n}-dry_run`,
      request_id: n,
      kind: "dry_run",
      token: signExecutionToken(key, {
        jti: `drm-${process.pid}-${n}-${Math.random()}`,
        req: n,
        exe: 0,
        purpose: "dry_run",
        max_rows: null,
        db: "legacy",
        env: "production",
        op: "write",
        sql_sha256: sha256Hex(sql),
        agent: AGENT_ID,
        iat,
        exp: iat + 300,
      }),
      sql,
      database: "legacy",
      environment: "production",
      operation: "write",
      statement_timeout_ms: 5000,
    };
  };
  const report = async (offered: PreflightClaimResponse) => {
    bot.offerPlan(offered);
    const agent = await startAgent(config, {
      fetch: bot.fetch,
      clock: fixedClock(),
      logger: silentLogger,
      minPollIntervalMs: 0,
    });
    t.after(() => agent.stop());
    await until(() => bot.planReports.has(offered.preflight_id), 15_000);
    const body = bot.planReports.get(offered.preflight_id);
    assert.ok(body !== undefined);
    return body;
  };
  return { claim, report };
}

describe("the agent making dry runs on MySQL/MariaDB", () => {
  test("counts the rows an UPDATE changes and leaves the table as it was", async (t) => {
    const s = setup(t);
    const before = await scalar(`SELECT SUM(n) FROM ${ITEMS}`);
    const body = await s.report(s.claim(`UPDATE ${ITEMS} SET n = n + 1 WHERE id <= 4`));
    assert.equal(body.outcome, "succeeded", JSON.stringify(body));
    assert.equal(body.affected_rows, 4);
    assert.equal(await scalar(`SELECT SUM(n) FROM ${ITEMS}`), before);
  });

  test("refuses a MyISAM table before anything runs: its change would be permanent", async (t) => {
    const s = setup(t);
    const body = await s.report(s.claim(`UPDATE ${MYISAM} SET n = 100 WHERE id = 1`));
    assert.equal(body.outcome, "failed");
    assert.equal(body.error?.code, "sql.rejected", JSON.stringify(body));
    assert.match(body.error?.message ?? "", /MyISAM/);
    assert.equal(await scalar(`SELECT n FROM ${MYISAM} WHERE id = 1`), "1");
  });

  test("refuses a MyISAM table named only in a subquery", async (t) => {
    const s = setup(t);
    const before = await scalar(`SELECT SUM(n) FROM ${ITEMS}`);
    const body = await s.report(s.claim(`UPDATE ${ITEMS} SET n = 0 WHERE id IN (SELECT id FROM ${MYISAM})`));
    assert.equal(body.error?.code, "sql.rejected", JSON.stringify(body));
    assert.equal(await scalar(`SELECT SUM(n) FROM ${ITEMS}`), before);
  });

  test("refuses a table with a trigger: the trigger never fires", async (t) => {
    const s = setup(t);
    const body = await s.report(s.claim(`UPDATE ${TRIGGERED} SET n = n + 1`));
    assert.equal(body.outcome, "failed");
    assert.equal(body.error?.code, "sql.rejected", JSON.stringify(body));
    assert.match(body.error?.message ?? "", /triggers/);
    assert.equal(await scalar(`SELECT COUNT(*) FROM ${SIDE}`), "0");
    assert.equal(await scalar(`SELECT SUM(n) FROM ${TRIGGERED}`), "3");
  });

  test("refuses a write calling a stored function as unverified: the function never runs", async (t) => {
    const s = setup(t);
    const before = await scalar(`SELECT SUM(n) FROM ${ITEMS}`);
    const body = await s.report(s.claim(`UPDATE ${ITEMS} SET n = ${FN}(n) WHERE id = 1`));
    assert.equal(body.outcome, "failed");
    assert.equal(body.error?.code, "sql.unverified", JSON.stringify(body));
    assert.match(body.error?.message ?? "", new RegExp(FN));
    assert.equal(await scalar(`SELECT COUNT(*) FROM ${SIDE}`), "0");
    assert.equal(await scalar(`SELECT SUM(n) FROM ${ITEMS}`), before);
  });

  test("refuses a schema-qualified stored function in an INSERT's SELECT too", async (t) => {
    const s = setup(t);
    const body = await s.report(
      s.claim(`INSERT INTO ${ITEMS} (id, n) SELECT 100, test.${FN}(1) FROM ${ITEMS} LIMIT 1`),
    );
    assert.equal(body.error?.code, "sql.unverified", JSON.stringify(body));
    assert.equal(await scalar(`SELECT COUNT(*) FROM ${SIDE}`), "0");
    assert.equal(await scalar(`SELECT COUNT(*) FROM ${ITEMS}`), "6");
  });

  test("gives up on a row another session has locked, changing nothing", async (t) => {
    const s = setup(t);
    const holder = await mysql.createConnection({ uri: MARIADB_URL });
    t.after(async () => {
      await holder.query("ROLLBACK");
      await holder.end();
    });
    await holder.query("START TRANSACTION");
    await holder.query(`SELECT * FROM ${ITEMS} WHERE id = 1 FOR UPDATE`);
    const body = await s.report(s.claim(`UPDATE ${ITEMS} SET n = 0 WHERE id = 1`));
    assert.equal(body.outcome, "failed");
    assert.equal(body.error?.code, "execution.timeout", JSON.stringify(body));
    await holder.query("ROLLBACK");
    assert.equal(await scalar(`SELECT n FROM ${ITEMS} WHERE id = 1`), "1");
  });
});
