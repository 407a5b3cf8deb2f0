/**
 * The agent's loop making dry runs (run-preflight.ts, preflight/dry-run-safety.ts) against a fake
 * bot and the real PostgreSQL: it counts a write's rows and leaves the table as it was; a token
 * for another purpose is refused both ways; a table that would set off code ROLLBACK cannot undo
 * (a trigger, a trigger on a cascade child), a view and an unknown function are refused before
 * the statement runs; a database without `dry_run: true` leaves the offer to others; the config
 * takes `dry_run` on PostgreSQL and MySQL/MariaDB (run-dry-run-mysql.test.ts) and refuses it on
 * SQLite.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { after, before, describe, test, type TestContext } from "node:test";
import pg from "pg";
import {
  encodePublicKey,
  sha256Hex,
  signExecutionToken,
  type PreflightClaimResponse,
  type PreflightKind,
  type TokenPurpose,
} from "@dbward/shared";
import { startAgent } from "./agent.ts";
import { loadAgentConfig } from "./config.ts";
import { preflightsMade } from "./run-preflight.ts";
import { FakeBot, until } from "../../test/support/agent/fake-bot.ts";
import {
  AGENT_ID,
  fixedClock,
  generateSigningKey,
  NOW_MS,
  PG_URL,
  silentLogger,
  tempDir,
} from "../../test/support/agent/unit-helpers.ts";

const S = `_${process.pid}`;
const ITEMS = `dr_items${S}`;
const TRIGGERED = `dr_triggered${S}`;
const SIDE = `dr_side${S}`;
const PARENT = `dr_parent${S}`;
const CHILD = `dr_child${S}`;
const VIEW = `dr_view${S}`;
const FN = `dr_note${S}`;
const DEFAULTED = `dr_defaulted${S}`;
const DEFAULT_FN = `dr_default${S}`;

const admin = new pg.Pool({ connectionString: PG_URL, max: 2 });

before(async () => {
  await admin.query(`
    CREATE TABLE ${ITEMS} (id int PRIMARY KEY, n int NOT NULL);
    INSERT INTO ${ITEMS} SELECT g, g FROM generate_series(1, 10) g;
    CREATE TABLE ${SIDE} (note text);
    CREATE FUNCTION ${FN}() RETURNS trigger LANGUAGE plpgsql AS
      $$ BEGIN INSERT INTO ${SIDE} VALUES (TG_TABLE_NAME); RETURN NEW; END $$;
    CREATE TABLE ${TRIGGERED} (id int PRIMARY KEY, n int NOT NULL);
    INSERT INTO ${TRIGGERED} SELECT g, g FROM generate_series(1, 5) g;
    CREATE TRIGGER side_note BEFORE UPDATE ON ${TRIGGERED} FOR EACH ROW EXECUTE FUNCTION ${FN}();
    CREATE TABLE ${PARENT} (id int PRIMARY KEY);
    INSERT INTO ${PARENT} SELECT g FROM generate_series(1, 3) g;
    CREATE TABLE ${CHILD} (id int PRIMARY KEY, parent_id int REFERENCES ${PARENT} ON DELETE CASCADE);
    INSERT INTO ${CHILD} SELECT g, g FROM generate_series(1, 3) g;
    CREATE TRIGGER side_note BEFORE DELETE ON ${CHILD} FOR EACH ROW EXECUTE FUNCTION ${FN}();
    CREATE VIEW ${VIEW} AS SELECT id, n FROM ${ITEMS};
    CREATE FUNCTION ${DEFAULT_FN}() RETURNS int LANGUAGE plpgsql AS
      $$ BEGIN INSERT INTO ${SIDE} VALUES ('default'); RETURN 1; END $$;
    CREATE TABLE ${DEFAULTED} (id int PRIMARY KEY, n int NOT NULL DEFAULT ${DEFAULT_FN}());
  `);
});

after(async () => {
  await admin.query(`
    DROP VIEW IF EXISTS ${VIEW};
    DROP TABLE IF EXISTS ${CHILD}, ${PARENT}, ${TRIGGERED}, ${ITEMS}, ${SIDE}, ${DEFAULTED};
    DROP FUNCTION IF EXISTS ${FN}(), ${DEFAULT_FN}();
  `);
  await admin.end();
});

async function scalar(sql: string): Promise<string> {
  const { rows } = await admin.query<{ v: string }>(`SELECT (${sql})::text AS v`);
  return rows[0]?.v ?? "";
}

function configDoc(dataDir: string, kid: string, publicKey: string, databases: object[]) {
  return JSON.stringify({
    id: AGENT_ID,
    bot_url: "http://127.0.0.1:9",
    keys: { [kid]: publicKey },
    data_dir: dataDir,
    databases,
  });
}

const ENV = { DBWARD_AGENT_TOKEN: "agent-secret-token", PG: PG_URL, MY: "mysql://root@127.0.0.1:3306/test" };

function setup(t: TestContext) {
  const key = generateSigningKey();
  const config = loadAgentConfig(
    configDoc(join(tempDir(t), "data"), key.kid, encodePublicKey(key), [
      {
        name: "shop",
        environment: "production",
        driver: "postgres",
        url_env: "PG",
        operations: ["read", "write"],
        dry_run: true,
      },
      {
        name: "plain",
        environment: "production",
        driver: "postgres",
        url_env: "PG",
        operations: ["read", "write"],
      },
    ]),
    ENV,
  );
  const bot = new FakeBot();
  let n = 0;
  const claim = (
    sql: string,
    options: { kind?: PreflightKind; purpose?: TokenPurpose; database?: string } = {},
  ): PreflightClaimResponse => {
    n += 1;
    const kind = options.kind ?? "dry_run";
    const database = options.database ?? "shop";
    const iat = Math.floor(NOW_MS / 1000);
    return {
      preflight_id: `${n}-${kind}`,
      request_id: n,
      kind,
      token: signExecutionToken(key, {
        jti: `dry-${process.pid}-${n}-${Math.random()}`,
        req: n,
        exe: 0,
        purpose: options.purpose ?? kind,
        max_rows: null,
        db: database,
        env: "production",
        op: "write",
        sql_sha256: sha256Hex(sql),
        agent: AGENT_ID,
        iat,
        exp: iat + 300,
      }),
      sql,
      database,
      environment: "production",
      operation: "write",
      statement_timeout_ms: 5000,
    };
  };
  const start = async () => {
    const agent = await startAgent(config, {
      fetch: bot.fetch,
      clock: fixedClock(),
      logger: silentLogger,
      minPollIntervalMs: 0,
    });
    t.after(() => agent.stop());
    return agent;
  };
  /** Offers `offered`, runs the agent and answers its report. */
  const report = async (offered: PreflightClaimResponse) => {
    bot.offerPlan(offered);
    await start();
    await until(() => bot.planReports.has(offered.preflight_id), 10_000);
    const body = bot.planReports.get(offered.preflight_id);
    assert.ok(body !== undefined);
    return body;
  };
  return { bot, config, claim, report, start };
}

describe("the agent making dry runs", () => {
  test("counts the rows an UPDATE changes and leaves the table as it was", async (t) => {
    const s = setup(t);
    const before = await scalar(`SELECT sum(n) FROM ${ITEMS}`);
    const body = await s.report(s.claim(`UPDATE ${ITEMS} SET n = n + 1 WHERE id <= 4`));
    assert.equal(body.outcome, "succeeded", JSON.stringify(body));
    assert.equal(body.affected_rows, 4);
    assert.equal(body.plan, undefined);
    assert.equal(body.engine, undefined);
    assert.equal(await scalar(`SELECT sum(n) FROM ${ITEMS}`), before);
  });

  test("counts an INSERT's rows and a DELETE's through a subquery's CTE, committing none", async (t) => {
    const s = setup(t);
    const inserted = await s.report(s.claim(`INSERT INTO ${ITEMS} (id, n) VALUES (100, 1), (101, 2)`));
    assert.equal(inserted.affected_rows, 2, JSON.stringify(inserted));
    const deleted = await s.report(
      s.claim(`DELETE FROM ${ITEMS} WHERE id IN (WITH low AS (SELECT 1 AS id) SELECT id FROM low)`),
    );
    assert.equal(deleted.affected_rows, 1, JSON.stringify(deleted));
    assert.equal(await scalar(`SELECT count(*) FROM ${ITEMS}`), "10");
  });

  test("refuses a table whose column default calls a user function: it never runs", async (t) => {
    const s = setup(t);
    const body = await s.report(s.claim(`INSERT INTO ${DEFAULTED} (id) VALUES (1)`));
    assert.equal(body.error?.code, "sql.unverified", JSON.stringify(body));
    assert.match(body.error?.message ?? "", new RegExp(DEFAULT_FN));
    assert.equal(await scalar(`SELECT count(*) FROM ${SIDE}`), "0");
  });

  test("gives up on a row another session has locked, changing nothing", async (t) => {
    const s = setup(t);
    const holder = await admin.connect();
    t.after(async () => {
      await holder.query("ROLLBACK");
      holder.release();
    });
    await holder.query(`BEGIN; SELECT * FROM ${ITEMS} WHERE id = 1 FOR UPDATE`);
    const body = await s.report(s.claim(`UPDATE ${ITEMS} SET n = 0 WHERE id = 1`));
    assert.equal(body.outcome, "failed");
    assert.equal(body.error?.code, "execution.timeout", JSON.stringify(body));
  });

  test("refuses an explain token for a dry run, running nothing", async (t) => {
    const s = setup(t);
    const before = await scalar(`SELECT sum(n) FROM ${ITEMS}`);
    const body = await s.report(s.claim(`UPDATE ${ITEMS} SET n = 0`, { purpose: "explain" }));
    assert.equal(body.outcome, "failed");
    assert.equal(body.error?.code, "token.purpose_mismatch");
    assert.equal(body.affected_rows, undefined);
    assert.equal(await scalar(`SELECT sum(n) FROM ${ITEMS}`), before);
  });

  test("refuses an execute token for a dry run", async (t) => {
    const s = setup(t);
    const body = await s.report(s.claim(`UPDATE ${ITEMS} SET n = 0`, { purpose: "execute" }));
    assert.equal(body.error?.code, "token.purpose_mismatch");
  });

  test("refuses a dry-run token for an explain, planning nothing", async (t) => {
    const s = setup(t);
    const body = await s.report(
      s.claim(`UPDATE ${ITEMS} SET n = 0`, { kind: "explain", purpose: "dry_run" }),
    );
    assert.equal(body.outcome, "failed");
    assert.equal(body.error?.code, "token.purpose_mismatch");
    assert.equal(body.plan, undefined);
  });

  test("refuses a table with a user trigger: the trigger never fires", async (t) => {
    const s = setup(t);
    const body = await s.report(s.claim(`UPDATE ${TRIGGERED} SET n = n + 1`));
    assert.equal(body.outcome, "failed");
    assert.equal(body.error?.code, "sql.unverified");
    assert.match(body.error?.message ?? "", /trigger side_note/);
    assert.equal(await scalar(`SELECT count(*) FROM ${SIDE}`), "0");
  });

  test("refuses a delete that cascades into a child table with a trigger", async (t) => {
    const s = setup(t);
    const body = await s.report(s.claim(`DELETE FROM ${PARENT} WHERE id = 1`));
    assert.equal(body.outcome, "failed");
    assert.equal(body.error?.code, "sql.unverified");
    assert.match(body.error?.message ?? "", new RegExp(CHILD));
    assert.equal(await scalar(`SELECT count(*) FROM ${SIDE}`), "0");
    assert.equal(await scalar(`SELECT count(*) FROM ${CHILD}`), "3");
  });

  test("refuses a view as the target", async (t) => {
    const s = setup(t);
    const before = await scalar(`SELECT sum(n) FROM ${ITEMS}`);
    const body = await s.report(s.claim(`UPDATE ${VIEW} SET n = 0`));
    assert.equal(body.outcome, "failed");
    assert.equal(body.error?.code, "sql.rejected");
    assert.match(body.error?.message ?? "", /is a view/);
    assert.equal(await scalar(`SELECT sum(n) FROM ${ITEMS}`), before);
  });

  test("refuses a view named only in a subquery", async (t) => {
    const s = setup(t);
    const body = await s.report(s.claim(`DELETE FROM ${ITEMS} WHERE id IN (SELECT id FROM ${VIEW})`));
    assert.equal(body.error?.code, "sql.rejected");
  });

  test("refuses a name that is no table", async (t) => {
    const s = setup(t);
    const body = await s.report(s.claim(`UPDATE dr_missing${S} SET n = 0`));
    assert.equal(body.error?.code, "sql.rejected");
    assert.match(body.error?.message ?? "", /is not a table/);
  });

  test("refuses a call to a function the review does not know", async (t) => {
    const s = setup(t);
    const body = await s.report(s.claim(`UPDATE ${ITEMS} SET n = dr_unknown${S}(n)`));
    assert.equal(body.outcome, "failed");
    assert.equal(body.error?.code, "sql.unverified");
  });

  test("a database without dry_run: true leaves the offer unclaimed", async (t) => {
    const s = setup(t);
    const offered = s.claim(`UPDATE ${ITEMS} SET n = 0`, { database: "plain" });
    s.bot.offerPlan(offered);
    await s.start();
    await until(() => s.bot.calls.filter((c) => c.path === "/api/agent/poll").length >= 3, 10_000);
    assert.ok(!s.bot.calls.some((c) => c.path.startsWith("/api/agent/preflights/")));
    const poll = s.bot.calls.find((c) => c.path === "/api/agent/poll")?.body as { preflights?: string[] };
    assert.deepEqual(poll.preflights, ["explain", "dry_run"]);
  });
});

describe("dry-run consent in the agent config", () => {
  const key = generateSigningKey();
  const doc = (databases: object[]) =>
    configDoc("/tmp/dbward-dry-run", key.kid, encodePublicKey(key), databases);

  test("takes dry_run on a MySQL/MariaDB database and offers dry runs for it", () => {
    const config = loadAgentConfig(
      doc([
        {
          name: "shop",
          environment: "production",
          driver: "mysql",
          url_env: "MY",
          operations: ["read", "write"],
          dry_run: true,
        },
      ]),
      ENV,
    );
    assert.equal(config.databases[0]?.dryRun, true);
    assert.deepEqual(preflightsMade(config), ["explain", "dry_run"]);
  });

  test("refuses dry_run on a SQLite database, saying why", () => {
    assert.throws(
      () =>
        loadAgentConfig(
          doc([
            {
              name: "app",
              environment: "production",
              driver: "sqlite",
              url: "/tmp/dbward-dry-run/app.db",
              operations: ["write"],
              dry_run: true,
            },
          ]),
          ENV,
        ),
      (err: Error) =>
        /databases\.0\.dry_run: dry runs are for PostgreSQL and MySQL\/MariaDB only, not sqlite/.test(
          err.message,
        ),
    );
  });

  test("refuses a dry_run that is not a boolean", () => {
    assert.throws(
      () =>
        loadAgentConfig(
          doc([
            {
              name: "shop",
              environment: "production",
              driver: "postgres",
              url_env: "PG",
              operations: ["write"],
              dry_run: "yes",
            },
          ]),
          ENV,
        ),
      /databases\.0\.dry_run/,
    );
  });

  test("offers dry runs in the poll only when a database consents", () => {
    const without = loadAgentConfig(
      doc([
        {
          name: "shop",
          environment: "production",
          driver: "postgres",
          url_env: "PG",
          operations: ["read", "write"],
        },
      ]),
      ENV,
    );
    assert.equal(without.databases[0]?.dryRun, false);
    assert.deepEqual(preflightsMade(without), ["explain"]);
    const consenting = loadAgentConfig(
      doc([
        {
          name: "shop",
          environment: "production",
          driver: "postgres",
          url_env: "PG",
          operations: ["read", "write"],
          dry_run: true,
        },
      ]),
      ENV,
    );
    assert.deepEqual(preflightsMade(consenting), ["explain", "dry_run"]);
  });
});
