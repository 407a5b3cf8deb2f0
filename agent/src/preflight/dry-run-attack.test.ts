/**
 * Hostile review of PostgreSQL dry runs: writes that pass the SQL review (no unverified call in
 * the text) but that would make PostgreSQL call code ROLLBACK cannot undo, through what the
 * text does not name: `t.f` calling `f(t)`, an operator of a built-in name that resolves to a
 * user's, an assignment cast into a column's user type, a domain inside a domain, an array or a
 * composite, an index's operator class, and built-in functions with side effects (setval) in a
 * table's defaults or checks. Every one must be refused before the statement runs, and the
 * marker sequence each would advance (nextval is not undone by ROLLBACK) must stay where it was.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import pg from "pg";
import { DbwardError, initSqlReview, reviewSql } from "@dbward/shared";
import { PG_URL, silentLogger, testDatabase } from "../../../test/support/agent/unit-helpers.ts";
import type { DatabaseConfig } from "../config.ts";
import { createPlanPools, type PlanPools } from "../run-preflight.ts";

const S = `_${process.pid}`;
const SCHEMA = `dra${S}`;
const admin = new pg.Pool({ connectionString: PG_URL, max: 2 });
const db: DatabaseConfig = { ...testDatabase("postgres", PG_URL), dryRun: true };
let pools: PlanPools;

/** Each hostile function advances this; ROLLBACK never takes a sequence value back. */
const MARK = `${SCHEMA}.mark`;
/** In public, on the search path: `items.<FIELD>` resolves to it. */
const FIELD = `dra_field${S}`;

before(async () => {
  await initSqlReview(["postgres"]);
  pools = createPlanPools(silentLogger);
  await admin.query(`
    CREATE SCHEMA ${SCHEMA};
    CREATE SEQUENCE ${MARK};
    CREATE SEQUENCE ${SCHEMA}.target;
    CREATE TABLE ${SCHEMA}.items (id int PRIMARY KEY, n int NOT NULL, tag text NOT NULL);
    INSERT INTO ${SCHEMA}.items SELECT g, g, g::text FROM generate_series(1, 5) g;

    -- t.f is f(t) when t has no column f
    CREATE FUNCTION public.${FIELD}(${SCHEMA}.items) RETURNS bool LANGUAGE plpgsql AS
      $$ BEGIN PERFORM nextval('${MARK}'); RETURN true; END $$;

    -- an operator of a built-in name, for argument types pg_catalog has no = for
    -- (public is on the search path, as it is by default)
    CREATE FUNCTION ${SCHEMA}.evil_eq(int, text) RETURNS bool LANGUAGE plpgsql AS
      $$ BEGIN PERFORM nextval('${MARK}'); RETURN true; END $$;
    DROP OPERATOR IF EXISTS public.= (int, text);

    -- an assignment cast into a column's user type
    CREATE TYPE ${SCHEMA}.boxed AS (a int);
    CREATE FUNCTION ${SCHEMA}.to_boxed(int) RETURNS ${SCHEMA}.boxed LANGUAGE plpgsql AS
      $$ BEGIN PERFORM nextval('${MARK}'); RETURN ROW($1); END $$;
    CREATE TABLE ${SCHEMA}.casted (id int, b ${SCHEMA}.boxed);

    -- domains whose check calls a user function, reached without being a column's own type
    CREATE FUNCTION ${SCHEMA}.evil_check(int) RETURNS bool LANGUAGE plpgsql AS
      $$ BEGIN PERFORM nextval('${MARK}'); RETURN true; END $$;
    CREATE DOMAIN ${SCHEMA}.checked AS int CHECK (${SCHEMA}.evil_check(VALUE));
    CREATE DOMAIN ${SCHEMA}.wrapped AS ${SCHEMA}.checked;
    CREATE TABLE ${SCHEMA}.nested (id int, v ${SCHEMA}.wrapped);
    CREATE TABLE ${SCHEMA}.arrayed (id int, v ${SCHEMA}.checked[]);
    CREATE TYPE ${SCHEMA}.holder AS (v ${SCHEMA}.checked);
    CREATE TABLE ${SCHEMA}.composite (id int, h ${SCHEMA}.holder);

    -- a btree operator class whose comparison support function is a user's
    CREATE FUNCTION ${SCHEMA}.evil_cmp(int, int) RETURNS int LANGUAGE plpgsql IMMUTABLE AS
      $$ BEGIN PERFORM nextval('${MARK}'); RETURN btint4cmp($1, $2); END $$;
    CREATE OPERATOR CLASS ${SCHEMA}.evil_ops FOR TYPE int USING btree AS
      OPERATOR 1 <, OPERATOR 2 <=, OPERATOR 3 =, OPERATOR 4 >=, OPERATOR 5 >,
      FUNCTION 1 ${SCHEMA}.evil_cmp(int, int);
    CREATE TABLE ${SCHEMA}.indexed (id int, n int);
    INSERT INTO ${SCHEMA}.indexed SELECT g, g FROM generate_series(1, 50) g;
    CREATE INDEX ON ${SCHEMA}.indexed (n ${SCHEMA}.evil_ops);

    -- built-in, but not free of side effects: setval is not undone by ROLLBACK
    CREATE TABLE ${SCHEMA}.setter (id int, n bigint DEFAULT setval('${SCHEMA}.target', 4242));
    CREATE TABLE ${SCHEMA}.checker (id int CHECK (setval('${SCHEMA}.target', id) > 0));

    -- what must keep working: serial, now(), a plain domain over a built-in type
    CREATE DOMAIN ${SCHEMA}.positive AS int CHECK (VALUE > 0);
    CREATE TABLE ${SCHEMA}.plain (id serial PRIMARY KEY, at timestamptz DEFAULT now(),
      p ${SCHEMA}.positive, ps ${SCHEMA}.positive[], tags text[]);
    CREATE INDEX ON ${SCHEMA}.plain (abs(id));
  `);
});

after(async () => {
  await pools.closeAll();
  await admin.query(`DROP OPERATOR IF EXISTS public.= (int, text)`);
  await admin.query(`DROP SCHEMA IF EXISTS ${SCHEMA} CASCADE`);
  await admin.end();
});

async function mark(): Promise<string> {
  const { rows } = await admin.query<{ v: string }>(
    `SELECT last_value || ':' || is_called AS v FROM ${MARK}`,
  );
  return rows[0]?.v ?? "";
}

async function target(): Promise<string> {
  const { rows } = await admin.query<{ v: string }>(
    `SELECT last_value || ':' || is_called AS v FROM ${SCHEMA}.target`,
  );
  return rows[0]?.v ?? "";
}

/** The text passes the review's call check (run-preflight's gate) and the dry run refuses it. */
async function refusedWithoutEffect(
  sql: string,
  why?: RegExp,
  counter: () => Promise<string> = mark,
): Promise<void> {
  let refusal = "";
  const review = reviewSql(sql, "postgres");
  assert.equal(review.class, "write", sql);
  assert.deepEqual(review.unverifiedCalls ?? [], [], `${sql}: the review names no call`);
  const before = await counter();
  await assert.rejects(
    pools.dryRun(db, sql, 5000),
    (err: unknown) => {
      if (!(err instanceof DbwardError) || !/^sql\.(unverified|rejected)$/.test(err.code)) return false;
      refusal = err.message;
      return true;
    },
    sql,
  );
  assert.equal(await counter(), before, `${sql}: something ROLLBACK cannot undo ran`);
  if (why !== undefined) assert.match(refusal, why, sql);
}

describe("dry runs refuse what the text does not name", () => {
  test("t.f calling a user function f(t)", async () => {
    await refusedWithoutEffect(`UPDATE ${SCHEMA}.items SET n = n WHERE items.${FIELD}`, /`t\.f`/);
  });

  test("= resolving to a user's operator for (int, text)", async () => {
    // Made here and dropped after: while it exists every dry run that compares with = is refused.
    await admin.query(
      `CREATE OPERATOR public.= (LEFTARG = int, RIGHTARG = text, FUNCTION = ${SCHEMA}.evil_eq)`,
    );
    try {
      await refusedWithoutEffect(`UPDATE ${SCHEMA}.items SET n = n WHERE id = tag`, /public\.=/);
    } finally {
      await admin.query(`DROP OPERATOR public.= (int, text)`);
    }
  });

  test("an assignment cast into a column of a user type", async () => {
    // Made here and dropped after: while it exists any dry run could reach it.
    await admin.query(
      `CREATE CAST (int AS ${SCHEMA}.boxed) WITH FUNCTION ${SCHEMA}.to_boxed(int) AS ASSIGNMENT`,
    );
    try {
      await refusedWithoutEffect(`INSERT INTO ${SCHEMA}.casted (id, b) VALUES (1, 5)`, /integer to .*boxed/);
    } finally {
      await admin.query(`DROP CAST (int AS ${SCHEMA}.boxed)`);
    }
  });

  test("a domain over a domain whose check calls a user function", async () => {
    await refusedWithoutEffect(`INSERT INTO ${SCHEMA}.nested (id, v) VALUES (1, 5)`, /evil_check/);
  });

  test("an array of a domain whose check calls a user function", async () => {
    await refusedWithoutEffect(`INSERT INTO ${SCHEMA}.arrayed (id, v) VALUES (1, ARRAY[5])`, /evil_check/);
  });

  test("a composite whose attribute is a domain whose check calls a user function", async () => {
    await refusedWithoutEffect(`INSERT INTO ${SCHEMA}.composite (id, h) VALUES (1, ROW(5))`, /evil_check/);
  });

  test("an index whose operator class calls a user function", async () => {
    await refusedWithoutEffect(`UPDATE ${SCHEMA}.indexed SET n = n + 1 WHERE id < 10`, /operator classes/);
  });

  test("a default calling setval, a built-in with an effect ROLLBACK does not undo", async () => {
    await refusedWithoutEffect(`INSERT INTO ${SCHEMA}.setter (id) VALUES (1)`, /setval/, target);
  });

  test("a check constraint calling setval", async () => {
    await refusedWithoutEffect(`INSERT INTO ${SCHEMA}.checker (id) VALUES (7)`, /setval/, target);
  });
});

describe("dry runs still count writes on tables that call only vetted built-ins", () => {
  test("a write on a table with serial, now(), a plain domain and an expression index", async () => {
    const result = await pools.dryRun(
      db,
      `INSERT INTO ${SCHEMA}.plain (p, ps, tags) VALUES (1, ARRAY[2], ARRAY['a']), (3, NULL, NULL)`,
      5000,
    );
    assert.equal(result.affected_rows, 2);
    const rows = await admin.query(`SELECT 1 FROM ${SCHEMA}.plain`);
    assert.equal(rows.rowCount, 0);
  });

  test("an UPDATE comparing built-in types with built-in operators", async () => {
    const result = await pools.dryRun(
      db,
      `UPDATE ${SCHEMA}.items SET n = n + 1 WHERE tag = '3' OR id = 4 OR lower(tag) LIKE '5%'`,
      5000,
    );
    assert.equal(result.affected_rows, 3);
  });
});
