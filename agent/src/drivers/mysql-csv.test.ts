/**
 * MySQL/MariaDB rows as CSV (mysql-csv.ts) against the values path they replace, on the real
 * MariaDB: the same statement read once by a sink that takes CSV and once by one that takes
 * values must give the CSV bytes the bot made of those values before (`ndjsonToCsv`, the bot's
 * own code), and the kinds must turn the cells back into the same JSON values.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { cellsToJson, csvChunkHead, parseCsvRows } from "@dbward/shared";
import { ndjsonToCsv } from "../../../bot/src/results/ndjson-csv.ts";
import { countChunkRows } from "../../../bot/src/results/result-chunk.ts";
import { readRows, type Read } from "../../../test/support/agent/mysql-csv-read.ts";
import { MARIADB_URL, testDatabase } from "../../../test/support/agent/unit-helpers.ts";
import { BATCH_ROWS, type Driver, type ExecuteOptions } from "./driver.ts";
import { MysqlCsvBatch, mysqlCsvKinds } from "./mysql-csv.ts";
import { createMysqlDriver } from "./mysql.ts";

const READ: ExecuteOptions = { operation: "read", rowCap: 100_000, statementTimeoutMs: 20_000 };

const read = (driver: Driver, sql: string, csv: boolean): Promise<Read> => readRows(driver, sql, csv, READ);

/** The rows the bot counts in the read as one chunk; it throws for a chunk it would refuse. */
function storedRows(result: Read): number {
  return countChunkRows(Buffer.concat([Buffer.from(csvChunkHead(result.kinds ?? [])), result.csv]));
}

/** What the bot made of the values path: NDJSON lines, then its CSV. */
function csvOfValues(values: unknown[][]): Buffer {
  return ndjsonToCsv(Buffer.from(values.map((row) => `${JSON.stringify(row)}\n`).join("")));
}

async function withDriver<T>(fn: (driver: Driver) => Promise<T>): Promise<T> {
  const driver = createMysqlDriver(testDatabase("mysql", MARIADB_URL), () => undefined);
  try {
    return await fn(driver);
  } finally {
    await driver.close();
  }
}

const EVERY_TYPE = `SELECT
  CAST(9007199254740993 AS SIGNED) AS big, CAST(-12 AS DECIMAL(6,2)) AS num, 7 AS small, CAST(127 AS INT) AS i32,
  CAST(2.5 AS DOUBLE) AS dbl, CAST(0.1 AS FLOAT) AS flt, CAST(1e21 AS DOUBLE) AS huge, NULL AS nothing,
  CAST('2024-02-03' AS DATE) AS day, CAST('2024-02-03 04:05:06.5' AS DATETIME(1)) AS ts, CAST('-838:59:59' AS TIME) AS span,
  YEAR('2024-01-01') AS yr, X'00FFFE' AS bytes, X'' AS no_bytes, b'101' AS bits,
  v.t AS txt, CONVERT(v.t USING utf8mb4) AS utf8`;

/** Texts that need quotes, or look like NULL or COPY's end marker, or are not ASCII. */
const TEXTS = [
  "plain",
  "",
  "a,b",
  'say "hi"',
  "line\nbreak",
  "cr\rhere",
  "\\.",
  "\\",
  "é ü 日本",
  "😀",
  " ",
  "NULL",
];

const VALUES_TABLE = TEXTS.map((t, i) => `SELECT ${i} AS n, ${quote(t)} AS t`).join(" UNION ALL ");

function quote(text: string): string {
  return `'${text.replaceAll("\\", "\\\\").replaceAll("'", "''").replaceAll("\n", "\\n").replaceAll("\r", "\\r")}'`;
}

describe("MySQL/MariaDB rows as CSV", () => {
  test("give the bytes the values path gave once the bot made CSV of it, and the same JSON values", async () => {
    await withDriver(async (driver) => {
      const sql = `${EVERY_TYPE} FROM (${VALUES_TABLE}) AS v ORDER BY v.n`;
      const asCsv = await read(driver, sql, true);
      const asValues = await read(driver, sql, false);
      assert.ok(asCsv.kinds !== undefined, "every column here can go as CSV");
      assert.equal(asCsv.values.length, 0, "no row came as values");
      assert.equal(asValues.values.length, TEXTS.length);
      assert.deepEqual(asCsv.names, asValues.names);
      assert.equal(asCsv.csv.toString("utf8"), csvOfValues(asValues.values).toString("utf8"));
      assert.equal(storedRows(asCsv), TEXTS.length, "the bot takes the rows as a chunk");
      const cells = parseCsvRows(asCsv.csv, 0, asCsv.names.length);
      assert.deepEqual(
        cells.map((row) => cellsToJson(row, asCsv.kinds ?? [])),
        asValues.values,
      );
      // The texts themselves, so a change that broke both paths alike is seen too.
      assert.deepEqual(
        asValues.values.map((row) => row.at(-1)),
        TEXTS,
      );
      assert.deepEqual(asValues.values[0]?.slice(0, 8), [
        "9007199254740993",
        "-12.00",
        7,
        127,
        2.5,
        0.1,
        1e21,
        null,
      ]);
    });
  });

  test("text holding NUL is quoted, which the bot takes, and reads back as it was", async () => {
    await withDriver(async (driver) => {
      const result = await read(
        driver,
        "SELECT CONVERT(CONCAT('a', CHAR(0), 'b') USING utf8mb4) AS t, 1 AS n",
        true,
      );
      assert.equal(result.csv.toString(), '"a\0b",1\n');
      assert.equal(storedRows(result), 1);
      assert.deepEqual(parseCsvRows(result.csv, 0, 2), [["a\0b", "1"]]);
    });
  });

  test("a one-column result keeps `\\.` quoted, so it never reads as the end of the data", async () => {
    await withDriver(async (driver) => {
      const result = await read(driver, "SELECT '\\\\.' AS only_one", true);
      assert.equal(result.csv.toString(), '"\\."\n');
    });
  });

  test("rows beyond one batch, with text that is not ASCII, end where each row ends", async () => {
    await withDriver(async (driver) => {
      const rows = BATCH_ROWS * 2 + 17;
      const sql = `SELECT seq AS id, CONCAT('é', seq, IF(seq % 7 = 0, ',"', '')) AS t FROM seq_1_to_${rows}`;
      const asCsv = await read(driver, sql, true);
      const asValues = await read(driver, sql, false);
      assert.ok(asCsv.batches.length >= 3, `${asCsv.batches.length} batches`);
      assert.equal(asCsv.csv.toString("utf8"), csvOfValues(asValues.values).toString("utf8"));
      assert.equal(parseCsvRows(asCsv.csv, 0, 2).length, rows);
    });
  });

  test("a column of a type not listed (GEOMETRY, JSON values) sends the whole result as values", async () => {
    await withDriver(async (driver) => {
      const geometry = await read(driver, "SELECT 1 AS n, ST_GeomFromText('POINT(1 2)') AS g", true);
      assert.equal(geometry.kinds, undefined);
      assert.equal(geometry.batches.length, 0);
      assert.equal(geometry.values.length, 1);
      assert.equal(geometry.values[0]?.[0], 1);
    });
  });
});

describe("a MySQL read its sink stops early", () => {
  test("leaves no timer behind: the dropped query's statement timeout would hold the agent", async () => {
    await withDriver(async (driver) => {
      const timers = (): number => process.getActiveResourcesInfo().filter((r) => r === "Timeout").length;
      const before = timers();
      let batches = 0;
      await driver.stream(
        "SELECT seq FROM seq_1_to_100000",
        { ...READ, statementTimeoutMs: 3_600_000 },
        {
          columns: () => undefined,
          rows: () => Promise.resolve(false),
          csv: () => Promise.resolve(++batches < 2),
        },
      );
      assert.equal(batches, 2, "the read stopped after the batch its sink refused");
      assert.equal(timers(), before);
    });
  });
});

describe("mysqlCsvKinds", () => {
  test("allows a type by listing it: an unknown code, a missing one or an extended format refuses", () => {
    assert.deepEqual(mysqlCsvKinds([field(0x03), field(0xfd)]), ["number", "text"]);
    assert.equal(mysqlCsvKinds([field(0x03), field(0xf5)]), undefined, "JSON");
    assert.equal(mysqlCsvKinds([field(0xff)]), undefined, "GEOMETRY");
    assert.equal(mysqlCsvKinds([field(0xf2)]), undefined, "VECTOR");
    assert.equal(mysqlCsvKinds([field(0x42)]), undefined, "a code mysql2 may add");
    assert.equal(mysqlCsvKinds([{ name: "x" } as never]), undefined, "no code");
    assert.equal(mysqlCsvKinds([{ ...field(0xfb), extendedFormat: "json" }]), undefined, "MariaDB JSON");
    assert.deepEqual(mysqlCsvKinds([]), []);
  });

  function field(columnType: number): Parameters<typeof mysqlCsvKinds>[0][number] {
    return { name: "c", columnType } as Parameters<typeof mysqlCsvKinds>[0][number];
  }
});

describe("MysqlCsvBatch", () => {
  test("refuses a value of a type its column cannot give, instead of writing a guess", () => {
    const batch = new MysqlCsvBatch();
    assert.throws(
      () => batch.push([1, { x: 1 }]),
      (err: Error & { code?: string }) => err.code === "execution.failed" && /column 2/.test(err.message),
    );
    assert.throws(() => batch.push([true]), /unexpected type \(boolean\)/);
  });

  test("reuses its buffer: the rows of a take are the sink's only until the next take", () => {
    const batch = new MysqlCsvBatch();
    batch.push(["a", 1]);
    const first = batch.take();
    assert.equal(first.bytes.toString(), "a,1\n");
    assert.deepEqual(first.ends, [4]);
    batch.push(["ü"]);
    batch.push([null]);
    const second = batch.take();
    assert.equal(second.bytes.toString(), "ü\n\n");
    assert.deepEqual(second.ends, [3, 4]);
    assert.equal(batch.rows, 0);
  });
});
