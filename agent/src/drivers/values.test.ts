/** How each driver turns database values into JSON-safe ones (json-value.ts documents the rules). */
import assert from "node:assert/strict";
import { join } from "node:path";
import { describe, test } from "node:test";
import Database from "better-sqlite3";
import { MARIADB_URL, PG_URL, tempDir, testDatabase } from "../../../test/support/agent/unit-helpers.ts";
import type { ExecuteResult } from "./driver.ts";
import { toJsonValue } from "./json-value.ts";
import { createDriver } from "./registry.ts";
import type { DriverName } from "../config.ts";

async function selectOne(driver: DriverName, url: string, sql: string): Promise<ExecuteResult> {
  const d = createDriver(testDatabase(driver, url), () => undefined);
  try {
    return await d.execute(sql, { operation: "read", rowCap: 10, statementTimeoutMs: 5000 });
  } finally {
    await d.close();
  }
}

describe("toJsonValue", () => {
  test("turns bigint into a decimal string", () => {
    assert.equal(toJsonValue(2n ** 70n), "1180591620717411303424");
  });

  test("turns a Date into an ISO string in UTC and an invalid Date into null", () => {
    assert.equal(toJsonValue(new Date(Date.UTC(2024, 1, 3, 4, 5, 6))), "2024-02-03T04:05:06.000Z");
    assert.equal(toJsonValue(new Date(Number.NaN)), null);
  });

  test("turns bytes into base64", () => {
    assert.equal(toJsonValue(Buffer.from([0, 1, 254, 255])), "AAH+/w==");
    assert.equal(toJsonValue(new Uint8Array([104, 105])), "aGk=");
  });

  test("turns non-finite numbers into their names so JSON keeps them", () => {
    assert.deepEqual([NaN, Infinity, -Infinity].map(toJsonValue), ["NaN", "Infinity", "-Infinity"]);
  });

  test("keeps null, strings, booleans and finite numbers, and converts inside arrays and objects", () => {
    assert.deepEqual(toJsonValue([null, undefined, "x", true, 1.5, { a: 1n, b: [new Date(0)] }]), [
      null,
      null,
      "x",
      true,
      1.5,
      { a: "1", b: ["1970-01-01T00:00:00.000Z"] },
    ]);
  });
});

describe("value conversion by driver", () => {
  test("postgres: int8 and numeric as strings, dates as the server wrote them, bytea as base64", async () => {
    const result = await selectOne(
      "postgres",
      PG_URL,
      `SELECT 9007199254740993::int8 AS big, 1.50::numeric AS num, 2::int4 AS small, true AS yes, NULL::text AS nothing,
              '2024-02-03'::date AS day, '2024-02-03 04:05:06'::timestamp AS local_ts,
              '2024-02-03 04:05:06+02'::timestamptz AS zoned_ts, '1 day 02:00'::interval AS span,
              '\\x00fffe'::bytea AS bytes, 'NaN'::float8 AS nan, ARRAY[1, 2]::int8[] AS bigs,
              ARRAY['2024-01-01'::date] AS days, '{"k": [1, "v"]}'::jsonb AS doc`,
    );
    assert.deepEqual(result.rows, [
      [
        "9007199254740993",
        "1.50",
        2,
        true,
        null,
        "2024-02-03",
        "2024-02-03 04:05:06",
        "2024-02-03T02:05:06.000Z",
        "1 day 02:00:00",
        "AP/+",
        "NaN",
        ["1", "2"],
        ["2024-01-01"],
        { k: [1, "v"] },
      ],
    ]);
  });

  test("mysql: BIGINT and DECIMAL as strings, DATETIME as the server wrote it, binary as base64", async () => {
    const result = await selectOne(
      "mysql",
      MARIADB_URL,
      `SELECT CAST(9007199254740993 AS SIGNED) AS big, CAST(1.5 AS DECIMAL(4,2)) AS num, 2 AS small, NULL AS nothing,
              CAST('2024-02-03' AS DATE) AS day, CAST('2024-02-03 04:05:06' AS DATETIME) AS ts,
              X'00FFFE' AS bytes, CAST(1.25 AS DOUBLE) AS dbl`,
    );
    assert.deepEqual(result.rows, [
      ["9007199254740993", "1.50", 2, null, "2024-02-03", "2024-02-03 04:05:06", "AP/+", 1.25],
    ]);
  });

  test("sqlite: integers beyond 2^53 as strings, smaller ones as numbers, blobs as base64", async (t) => {
    const file = join(tempDir(t), "values.db");
    new Database(file).close();
    const result = await selectOne(
      "sqlite",
      file,
      "SELECT 9007199254740993 AS big, 42 AS small, 1.5 AS real, X'00FFFE' AS bytes, NULL AS empty",
    );
    assert.deepEqual(result.rows, [["9007199254740993", 42, 1.5, "AP/+", null]]);
  });
});
