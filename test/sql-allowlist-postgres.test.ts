/**
 * The PostgreSQL allowlist against a real server's catalogue (127.0.0.1:5432, database `test`):
 * every listed name exists there as a built-in, every volatile one has a written reason, nothing
 * never-a-read is listed, every hand note names a real function, and the committed data file is
 * what the generator makes of this server today.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { after, before, describe, test } from "node:test";
import pg from "pg";
import { buildPgAllowlist } from "../scripts/sql-allowlist/postgres-allowlist-source.ts";
import { neverAReadCategory } from "../shared/src/sql/never-a-read.ts";
import {
  PG_FUNCTIONS,
  PG_OPERATORS,
  PG_TYPES,
  PG_VIEW_CALLS,
} from "../shared/src/sql/postgres-allowlist-data.ts";
import { EXCLUDED, SINCE, VOLATILE_ALLOWED } from "../shared/src/sql/postgres-allowlist-notes.ts";

const DATA = new URL("../shared/src/sql/postgres-allowlist-data.ts", import.meta.url);
const FIRST_USER_OID = 16384;

describe("PostgreSQL allowlist on the real catalogue", () => {
  const client = new pg.Client({ host: "127.0.0.1", port: 5432, user: "postgres", database: "test" });
  let major = 0;

  before(async () => {
    await client.connect();
    const v = await client.query<{ v: string }>("SELECT current_setting('server_version_num') AS v");
    major = Math.floor(Number(v.rows[0]?.v) / 10000);
  });
  after(() => client.end());

  /** The names of `names` that the query, given them as $1, does not answer. */
  async function missing(names: readonly string[], sql: string): Promise<string[]> {
    const found = await client.query<{ name: string }>(sql, [names]);
    const present = new Set(found.rows.map((r) => r.name));
    return names.filter((n) => !present.has(n));
  }

  test("every listed function is a built-in of pg_catalog", async () => {
    assert.deepEqual(
      await missing(
        PG_FUNCTIONS,
        `SELECT DISTINCT proname AS name FROM pg_proc
          WHERE pronamespace = 'pg_catalog'::regnamespace AND proname = ANY($1) AND oid < ${FIRST_USER_OID}`,
      ),
      [],
    );
  });

  test("every listed function with a volatile overload has a reason in VOLATILE_ALLOWED", async () => {
    const volatile = await client.query<{ name: string }>(
      `SELECT DISTINCT proname AS name FROM pg_proc
        WHERE pronamespace = 'pg_catalog'::regnamespace AND proname = ANY($1) AND provolatile = 'v'`,
      [PG_FUNCTIONS],
    );
    const unexplained = volatile.rows.map((r) => r.name).filter((n) => !Object.hasOwn(VOLATILE_ALLOWED, n));
    assert.deepEqual(unexplained, []);
  });

  test("every VOLATILE_ALLOWED and EXCLUDED entry names a real pg_catalog function", async () => {
    const names = [...Object.keys(VOLATILE_ALLOWED), ...Object.keys(EXCLUDED)].filter(
      (n) => (SINCE[n] ?? 0) <= major,
    );
    assert.deepEqual(
      await missing(
        names,
        "SELECT DISTINCT proname AS name FROM pg_proc WHERE pronamespace = 'pg_catalog'::regnamespace AND proname = ANY($1)",
      ),
      [],
    );
  });

  test("no listed function is never a read, and no excluded one is listed", () => {
    assert.deepEqual(
      PG_FUNCTIONS.filter((n) => neverAReadCategory("postgres", n) !== undefined),
      [],
    );
    assert.deepEqual(
      PG_FUNCTIONS.filter((n) => Object.hasOwn(EXCLUDED, n)),
      [],
    );
  });

  test("every listed operator and type exists as a built-in", async () => {
    assert.deepEqual(
      await missing(
        PG_OPERATORS,
        `SELECT DISTINCT oprname AS name FROM pg_operator
          WHERE oprnamespace = 'pg_catalog'::regnamespace AND oprname = ANY($1) AND oid < ${FIRST_USER_OID}`,
      ),
      [],
    );
    assert.deepEqual(
      await missing(
        PG_TYPES,
        `SELECT CASE n.nspname WHEN 'pg_catalog' THEN t.typname ELSE n.nspname || '.' || t.typname END AS name
           FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
          WHERE n.nspname IN ('pg_catalog', 'information_schema') AND t.oid < ${FIRST_USER_OID}
            AND t.typname = ANY (SELECT split_part(x, '.', -1) FROM unnest($1::text[]) x)`,
      ),
      [],
    );
  });

  test("every view listed as calling a never-a-read function exists and calls it", async () => {
    const views = await client.query<{ name: string; def: string }>(
      `SELECT relname AS name, pg_get_viewdef(oid) AS def FROM pg_class
        WHERE relnamespace = 'pg_catalog'::regnamespace AND relname = ANY($1)`,
      [Object.keys(PG_VIEW_CALLS)],
    );
    assert.equal(views.rows.length, Object.keys(PG_VIEW_CALLS).length);
    for (const { name, def } of views.rows) assert.ok(def.includes(`${PG_VIEW_CALLS[name] ?? "?"}(`), name);
  });

  test("the committed data file is what the generator makes of this server", async (t) => {
    const committed = readFileSync(DATA, "utf8");
    const generatedFor = /from PostgreSQL (\d+)'s catalogue/.exec(committed)?.[1];
    if (Number(generatedFor) !== major) {
      t.skip(`the file was generated from PostgreSQL ${generatedFor ?? "?"}, this server is ${major}`);
      return;
    }
    const built = await buildPgAllowlist(client);
    assert.ok(
      built.text === committed,
      "postgres-allowlist-data.ts is out of date: run node --import tsx scripts/sql-allowlist/postgres.ts and review the diff",
    );
  });
});
