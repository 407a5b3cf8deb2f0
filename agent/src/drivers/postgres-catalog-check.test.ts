/**
 * The agent's catalogue check on a real PostgreSQL (T-SQL-SMUGGLING): reads the review proves by
 * name are refused when, on the target, a name resolves to something else — a function shadowing
 * a built-in on the search path, `t.f` calling a function, an operator or type of a built-in's
 * name, a user-defined cast — and run when nothing does, or when the function is trusted by this
 * agent's config. Each run works in a database of its own, created and dropped here.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import pg from "pg";
import { initSqlReview, type JobResultBody } from "@dbward/shared";
import { runJob, type JobRunnerDeps } from "../job-runner.ts";
import { openLedger } from "../ledger.ts";
import {
  fixedClock,
  generateSigningKey,
  PG_URL,
  signedClaim,
  silentLogger,
  tempDir,
  testConfig,
} from "../../../test/support/agent/unit-helpers.ts";
import { createDriver, createDriverRegistry } from "./registry.ts";

const DB = `dbw_catalog_${process.pid}_${randomBytes(3).toString("hex")}`;
const URL = PG_URL.replace(/\/test$/, `/${DB}`);

async function sql(url: string, text: string): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(text);
  } finally {
    await client.end();
  }
}

describe("agent catalogue check on real PostgreSQL", () => {
  before(async () => {
    await initSqlReview();
    await sql(PG_URL, `CREATE DATABASE ${DB}`);
    await sql(
      URL,
      "CREATE TABLE accounts (id int PRIMARY KEY, owner text); INSERT INTO accounts VALUES (1, 'ann')",
    );
  });
  after(() => sql(PG_URL, `DROP DATABASE IF EXISTS ${DB} WITH (FORCE)`));

  /** Runs `text` as a read job through the agent's real checks and driver. */
  async function read(
    t: { after(fn: () => unknown): void },
    text: string,
    trusted?: string[],
  ): Promise<JobResultBody> {
    const dir = tempDir(t);
    const key = generateSigningKey();
    const config = testConfig(
      join(dir, "data"),
      [key],
      [
        {
          name: "app",
          environment: "production",
          driver: "postgres",
          url: URL,
          operations: ["read"],
          ...(trusted === undefined ? {} : { trusted_functions: trusted }),
        },
      ],
    );
    const ledger = openLedger(config.dataDir);
    const drivers = createDriverRegistry((cfg) => createDriver(cfg, () => undefined));
    t.after(async () => {
      ledger.close();
      await drivers.closeAll();
    });
    const deps: JobRunnerDeps = { config, ledger, drivers, clock: fixedClock(), logger: silentLogger };
    const claim = signedClaim(key, {
      sql: text,
      database: "app",
      environment: "production",
      operation: "read",
    });
    return runJob(claim, deps, {
      signal: new AbortController().signal,
      sendChunk: () => Promise.resolve({ cancel: false }),
      onUploadStop: () => undefined,
    });
  }

  test("runs a read whose names all resolve to built-ins", async (t) => {
    const body = await read(
      t,
      "SELECT lower(owner), id + 1, '2024-01-01'::date FROM accounts a WHERE a.id = 1",
    );
    assert.equal(body.outcome, "succeeded", JSON.stringify(body));
  });

  test("refuses a read when a function of a built-in's name shadows it on the search path", async (t) => {
    await sql(
      URL,
      "CREATE FUNCTION public.lower(integer) RETURNS text LANGUAGE sql AS 'SELECT ''shadow''::text'",
    );
    t.after(() => sql(URL, "DROP FUNCTION public.lower(integer)"));
    const body = await read(t, "SELECT lower(id) FROM accounts");
    assert.equal(body.outcome, "refused");
    assert.equal(body.error?.code, "sql.unverified");
    assert.match(body.error?.message ?? "", /public\.lower/);
  });

  test("refuses t.f when f is a function of the row, which attribute notation would call", async (t) => {
    await sql(URL, "CREATE FUNCTION public.leak(accounts) RETURNS int LANGUAGE sql AS 'SELECT 1'");
    t.after(() => sql(URL, "DROP FUNCTION public.leak(accounts)"));
    const body = await read(t, "SELECT a.leak FROM accounts a");
    assert.equal(body.error?.code, "sql.unverified", JSON.stringify(body));
    assert.match(body.error?.message ?? "", /public\.leak/);
  });

  test("refuses an operator that shares a built-in operator's name", async (t) => {
    await sql(URL, "CREATE OPERATOR public.+ (LEFTARG = text, RIGHTARG = text, FUNCTION = textcat)");
    t.after(() => sql(URL, "DROP OPERATOR public.+ (text, text)"));
    const body = await read(t, "SELECT owner + 'x' FROM accounts");
    assert.equal(body.error?.code, "sql.unverified", JSON.stringify(body));
  });

  test("refuses a cast to a type a user-defined cast produces", async (t) => {
    await sql(
      URL,
      "CREATE FUNCTION public.acct_text(accounts) RETURNS text LANGUAGE sql AS 'SELECT ''x''::text'; CREATE CAST (accounts AS text) WITH FUNCTION public.acct_text(accounts)",
    );
    t.after(() => sql(URL, "DROP CAST (accounts AS text); DROP FUNCTION public.acct_text(accounts)"));
    const body = await read(t, "SELECT a::text FROM accounts a");
    assert.equal(body.error?.code, "sql.unverified", JSON.stringify(body));
    assert.match(body.error?.message ?? "", /cast/);
  });

  test("refuses row_to_json of a row when a user-defined cast turns that row into json", async (t) => {
    await sql(
      URL,
      "CREATE FUNCTION public.acct_json(accounts) RETURNS json LANGUAGE sql AS 'SELECT ''{}''::json'; CREATE CAST (accounts AS json) WITH FUNCTION public.acct_json(accounts)",
    );
    t.after(() => sql(URL, "DROP CAST (accounts AS json); DROP FUNCTION public.acct_json(accounts)"));
    const body = await read(t, "SELECT row_to_json(a) FROM accounts a");
    assert.equal(body.error?.code, "sql.unverified", JSON.stringify(body));
  });

  test("refuses a type of a built-in's name in a schema the role's search path puts first", async (t) => {
    await sql(
      URL,
      "CREATE SCHEMA IF NOT EXISTS shadow; CREATE TYPE shadow.date AS (d int); ALTER DATABASE " +
        DB +
        " SET search_path = shadow, public",
    );
    t.after(() => sql(URL, "ALTER DATABASE " + DB + " RESET search_path; DROP TYPE shadow.date"));
    const body = await read(t, "SELECT date '2026-01-01'");
    assert.equal(body.error?.code, "sql.unverified", JSON.stringify(body));
  });

  test("refuses equality written by syntax alone (CASE, IN subquery, USING, NATURAL) when a user `=` exists", async (t) => {
    await sql(
      URL,
      `CREATE TYPE public.mood AS ENUM ('a', 'b'); CREATE TABLE public.moods (id int, m mood);
       CREATE FUNCTION public.mood_eq(mood, mood) RETURNS boolean LANGUAGE sql AS 'SELECT $1::text = $2::text';
       CREATE OPERATOR public.= (LEFTARG = mood, RIGHTARG = mood, FUNCTION = mood_eq)`,
    );
    t.after(() =>
      sql(
        URL,
        "DROP TABLE public.moods; DROP TYPE public.mood CASCADE; DROP FUNCTION IF EXISTS public.mood_eq(mood, mood)",
      ),
    );
    for (const text of [
      "SELECT CASE m WHEN 'a' THEN 1 END FROM moods",
      "SELECT id FROM moods WHERE m IN (SELECT m FROM moods)",
      "SELECT * FROM moods a JOIN moods b USING (m)",
      "SELECT * FROM moods a NATURAL JOIN moods b",
    ]) {
      const body = await read(t, text);
      assert.equal(body.error?.code, "sql.unverified", `${text}: ${JSON.stringify(body)}`);
    }
  });

  test("refuses any read while a user-defined implicit cast with a procedural function exists", async (t) => {
    await sql(
      URL,
      `CREATE TYPE public.level AS ENUM ('low', 'high'); CREATE TABLE public.levels (l level);
       CREATE FUNCTION public.level_int(level) RETURNS int LANGUAGE sql AS 'SELECT 1';
       CREATE CAST (level AS int4) WITH FUNCTION public.level_int(level) AS IMPLICIT`,
    );
    t.after(() => sql(URL, "DROP TABLE public.levels; DROP TYPE public.level CASCADE"));
    const body = await read(t, "SELECT l + 1 FROM levels");
    assert.equal(body.error?.code, "sql.unverified", JSON.stringify(body));
    assert.match(body.error?.message ?? "", /implicit cast/);
  });

  test("refuses t.f when f takes a domain over the row type", async (t) => {
    await sql(
      URL,
      "CREATE DOMAIN public.acct_dom AS accounts; CREATE FUNCTION public.secret(acct_dom) RETURNS text LANGUAGE sql AS 'SELECT ''s''::text'",
    );
    t.after(() => sql(URL, "DROP FUNCTION public.secret(acct_dom); DROP DOMAIN public.acct_dom"));
    const body = await read(t, "SELECT a.secret FROM accounts a");
    assert.equal(body.error?.code, "sql.unverified", JSON.stringify(body));
  });

  test("does not let a trusted name exempt an unqualified call that resolves by the search path", async (t) => {
    await sql(
      URL,
      "CREATE FUNCTION public.lower(integer) RETURNS text LANGUAGE sql AS 'SELECT ''shadow''::text'",
    );
    t.after(() => sql(URL, "DROP FUNCTION public.lower(integer)"));
    const body = await read(t, "SELECT lower(id) FROM accounts", ["public.lower"]);
    assert.equal(body.error?.code, "sql.unverified", JSON.stringify(body));
  });

  test("runs a function the agent's config trusts, and refuses it as a read without that trust", async (t) => {
    await sql(
      URL,
      "CREATE SCHEMA IF NOT EXISTS reporting; CREATE OR REPLACE FUNCTION reporting.total() RETURNS bigint LANGUAGE sql STABLE AS 'SELECT count(*) FROM accounts'",
    );
    const trusted = await read(t, "SELECT reporting.total()", ["reporting.total"]);
    assert.equal(trusted.outcome, "succeeded", JSON.stringify(trusted));
    const untrusted = await read(t, "SELECT reporting.total()");
    assert.equal(untrusted.outcome, "refused");
    assert.equal(untrusted.error?.code, "sql.unverified");
    assert.match(untrusted.error?.message ?? "", /reporting\.total\(\)/);
  });
});
