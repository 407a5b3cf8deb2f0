/**
 * Reads through COPY on the real PostgreSQL: the CSV is byte for byte what `psql \copy … csv`
 * writes, the values read back from it are the ones the cursor path gives (pg's own parsers), a
 * sink that has had enough stops the statement and leaves the pool usable, and a statement text
 * that would break out of the COPY's parentheses never runs.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { after, before, describe, test } from "node:test";
import pg from "pg";
import { csvTextLine, type ColumnKind, type DbwardError } from "@dbward/shared";
import { PG_URL, testDatabase } from "../../../test/support/agent/unit-helpers.ts";
import type { CsvRows, Driver, ExecuteOptions, RowSink } from "./driver.ts";
import { isCopyableQuery } from "./postgres-copy.ts";
import { createDriver } from "./registry.ts";

/** Every value psql's CSV must keep apart or quote, and every type with its own JSON form. */
const TRICKY = `SELECT * FROM (VALUES
  (1, NULL::text, ''::text, 'a,b', 'say "hi"', E'line\\nbreak', E'cr\\rhere', 'é中😀 ', '\\.', 1.50::numeric,
   9007199254740993::int8, 2::int2, 1.5::float4, 'NaN'::float8, '-Infinity'::float8, 1e20::float8, true,
   '2024-02-03 04:05:06.789+02'::timestamptz, '2024-02-03'::date, '2024-02-03 04:05:06'::timestamp,
   '1 day 02:00'::interval, '\\x00fffe'::bytea, ARRAY[1, NULL, 3]::int4[],
   ARRAY['a b', 'c,d', NULL, 'NULL', 'q"t', 'back\\slash', '{x}']::text[], ARRAY[[1, 2], [3, 4]]::int8[],
   ARRAY[true, false], '{"k": [1, "v"], "s": "a,\\"b\\""}'::jsonb, '[1, 2.5, "x"]'::json,
   ARRAY['{"a": 1}'::jsonb], ARRAY['\\x01'::bytea], ARRAY['2024-01-01 00:00:00+00'::timestamptz],
   '12:34:56'::time, 'a1b2c3d4-0000-0000-0000-000000000000'::uuid, 'infinity'::timestamptz, '{}'::int4[]),
  (2, 'x', NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, false,
   NULL, NULL, NULL, NULL, ''::bytea, NULL, NULL, NULL, NULL, 'null'::jsonb, NULL, NULL, NULL, NULL, NULL,
   NULL, NULL, NULL)
) AS t(id, nothing, empty, comma, quote, newline, cr, unicode, dot, num, big, small, real, nan, ninf, huge,
       yes, zoned, day, local_ts, span, bytes, ints, texts, nested, bools, doc, json_doc, docs, blobs, zones,
       clock, uid, forever, none)
ORDER BY id`;

/** PostgreSQL's own CSV of a query, the reference (psql \copy … CSV HEADER). */
function psqlCsv(sql: string): Buffer {
  return execFileSync("psql", [PG_URL, "-X", "-q", "-c", `\\copy (${sql}) TO STDOUT WITH CSV HEADER`]);
}

/** A read as the job runner asks for it: through COPY when `sql` is a query. */
const read = (sql: string): ExecuteOptions => ({ ...throughCursor, readQuery: sql });
/** The same read without the statement text to wrap: the cursor. */
const throughCursor: ExecuteOptions = { operation: "read", rowCap: 1_000_000, statementTimeoutMs: 10_000 };

/** A sink that keeps the CSV bytes it is given, as the agent's upload does. */
function csvSink(): RowSink & { header(): string; bytes(): Buffer; kinds(): readonly ColumnKind[] } {
  let names: string[] = [];
  let kinds: readonly ColumnKind[] = [];
  const parts: Buffer[] = [];
  return {
    columns(n, k) {
      names = n;
      kinds = k ?? [];
    },
    rows: () => Promise.reject(new Error("a COPY read hands CSV, not values")),
    csv(batch: CsvRows) {
      parts.push(Buffer.from(batch.bytes));
      return Promise.resolve(true);
    },
    header: () => csvTextLine(names),
    bytes: () => Buffer.concat(parts),
    kinds: () => kinds,
  };
}

describe("postgres: reads through COPY", () => {
  let driver: Driver;
  before(() => {
    driver = createDriver(testDatabase("postgres", PG_URL), () => undefined);
  });
  after(async () => {
    await driver.close();
  });

  test("writes the same bytes as psql's \\copy … csv for NULL, empty text, quotes, newlines, unicode and every type", async () => {
    const sink = csvSink();
    await driver.stream(TRICKY, read(TRICKY), sink);
    assert.equal(
      Buffer.concat([Buffer.from(sink.header()), sink.bytes()]).toString("utf8"),
      psqlCsv(TRICKY).toString("utf8"),
    );
  });

  test("quotes \\. alone on its line only in a one-column result, as psql does", async () => {
    const sql = "SELECT v FROM (VALUES (1, '\\.'), (2, NULL), (3, '')) AS t(n, v) ORDER BY n";
    const sink = csvSink();
    await driver.stream(sql, read(sql), sink);
    assert.equal(sink.header() + sink.bytes().toString("utf8"), psqlCsv(sql).toString("utf8"));
    assert.equal(sink.bytes().toString("utf8"), '"\\."\n\n""\n');
  });

  test("gives the same JSON values as the cursor and pg's own parsers, type by type", async () => {
    const copied = await driver.execute(TRICKY, read(TRICKY));
    const cursor = await driver.execute(TRICKY, throughCursor);
    assert.deepEqual(copied, cursor);
    // The ones a JSON reader relies on, spelled out.
    const [first] = copied.rows;
    assert.deepEqual(first?.slice(9, 18), [
      "1.50",
      "9007199254740993",
      2,
      1.5,
      "NaN",
      "-Infinity",
      1e20,
      true,
      "2024-02-03T02:05:06.789Z",
    ]);
    assert.deepEqual(first?.slice(21, 31), [
      "AP/+",
      [1, null, 3],
      ["a b", "c,d", null, "NULL", 'q"t', "back\\slash", "{x}"],
      [
        ["1", "2"],
        ["3", "4"],
      ],
      [true, false],
      { k: [1, "v"], s: 'a,"b"' },
      [1, 2.5, "x"],
      [{ a: 1 }],
      ["AQ=="],
      ["2024-01-01T00:00:00.000Z"],
    ]);
    assert.deepEqual(copied.rows[1]?.slice(0, 3), [2, "x", null]);
  });

  test("stops a read its sink has had enough of, and the pool runs the next one", async () => {
    let batches = 0;
    const sink: RowSink = {
      columns: () => undefined,
      rows: () => Promise.reject(new Error("unexpected values")),
      csv: async () => {
        batches += 1;
        await new Promise((resolve) => setTimeout(resolve, 5));
        return batches < 2;
      },
    };
    const sql = "SELECT g, repeat('x', 100) FROM generate_series(1, 5000000) AS g";
    await driver.stream(sql, read(sql), sink);
    assert.equal(batches, 2);
    for (let i = 0; i < 3; i += 1) {
      assert.deepEqual((await driver.execute("SELECT 1 AS one", read("SELECT 1 AS one"))).rows, [[1]]);
    }
  });

  test("a statement text that would close the COPY's parenthesis is refused by the server before anything is copied", async () => {
    for (const escape of [
      "SELECT 1) TO STDOUT (FORMAT text); --",
      "SELECT 1) TO '/tmp/dbward-copy-escape' --",
      "SELECT 1; SELECT 2",
    ]) {
      const sink = csvSink();
      await assert.rejects(
        driver.stream(escape, read(escape), sink),
        (err: DbwardError) => err.code === "execution.failed",
        escape,
      );
      assert.equal(sink.bytes().length, 0, escape);
    }
  });

  test("the request's own output settings cannot change the cells' text: bytea in hex, dates in ISO", async () => {
    const sql = `SELECT '\\x00fffe'::bytea AS b, '2024-02-03 04:05:06.5+02'::timestamptz AS t,
      '1 day 02:00'::interval AS i, 0.1::float8 AS f`;
    const sink = csvSink();
    const session = [
      "SET bytea_output = 'escape'",
      "SET DateStyle = 'SQL, DMY'",
      "SET IntervalStyle = 'sql_standard'",
      "SET extra_float_digits = -3",
    ];
    await driver.stream(sql, { ...read(sql), session }, sink);
    assert.equal(`${sink.header()}${sink.bytes().toString("utf8")}`, psqlCsv(sql).toString("utf8"));
  });

  test("a read stopped at its cap ends normally for a role with no connection to spare for the cancel", async () => {
    // CONNECTION LIMIT 1: the job's own session is the role's only one, so a cancel that needs a
    // second login cannot be sent, and the COPY would run to its end and fail the read.
    const role = `dbward_one_${randomBytes(4).toString("hex")}`;
    const admin = new pg.Client(PG_URL);
    await admin.connect();
    await admin.query(`CREATE ROLE ${role} LOGIN CONNECTION LIMIT 1`);
    const url = new URL(PG_URL);
    url.username = role;
    const limited = createDriver(testDatabase("postgres", url.href), () => undefined);
    try {
      let batches = 0;
      const sink: RowSink = {
        columns: () => undefined,
        rows: () => Promise.reject(new Error("unexpected values")),
        csv: () => {
          batches += 1;
          return Promise.resolve(false);
        },
      };
      const sql = "SELECT g FROM generate_series(1, 5000000) AS g";
      await limited.stream(sql, read(sql), sink);
      assert.equal(batches, 1);
      const { rows } = await limited.execute("SELECT 1 AS one", read("SELECT 1 AS one"));
      assert.deepEqual(rows, [[1]], "the role's one connection is free again");
    } finally {
      await limited.close();
      await admin.query(`DROP ROLE ${role}`);
      await admin.end();
    }
  });

  test("a statement COPY cannot wrap (SHOW, EXPLAIN) is read through the cursor", async () => {
    const shown = await driver.execute("SHOW statement_timeout", read("SHOW statement_timeout"));
    assert.deepEqual(shown.columns, ["statement_timeout"]);
    assert.equal(shown.rows.length, 1);
  });
});

describe("isCopyableQuery", () => {
  test("takes SELECT, WITH, VALUES and TABLE after spaces, comments and parentheses", () => {
    for (const q of [
      "SELECT 1",
      "  with x AS (SELECT 1) SELECT * FROM x",
      "VALUES (1)",
      "TABLE t",
      "(SELECT 1) UNION (SELECT 2)",
      "-- note\nSELECT 1",
      "/* a /* nested */ b */ select 1",
    ]) {
      assert.equal(isCopyableQuery(q), true, q);
    }
  });

  test("leaves everything else to the cursor", () => {
    for (const q of [
      "SHOW timezone",
      "EXPLAIN SELECT 1",
      "selection",
      "UPDATE t SET a = 1 RETURNING a",
      "-- SELECT",
      "/* SELECT 1",
    ]) {
      assert.equal(isCopyableQuery(q), false, q);
    }
  });
});
