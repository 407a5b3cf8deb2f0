/**
 * Attacks on MySQL/MariaDB rows as CSV (mysql-csv.ts) on the real MariaDB: every statement is
 * read once by a sink that takes CSV and once by one that takes values only, and the CSV must
 * be what the bot made of the values (`ndjsonToCsv`), read back to the same JSON values and
 * the same JSON text, and be accepted by the bot as a chunk.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import mysql from "mysql2/promise";
import {
  cellsToJson,
  cellsToJsonText,
  csvChunkHead,
  MAX_RESULT_CHUNK_BYTES,
  parseCsvRows,
} from "@dbward/shared";
import { BODY_LIMITS } from "../../../bot/src/http/body-limits.ts";
import { ndjsonToCsv } from "../../../bot/src/results/ndjson-csv.ts";
import { chunkCsv, chunkJsonLines, countChunkRows } from "../../../bot/src/results/result-chunk.ts";
import { readRows, type Read } from "../../../test/support/agent/mysql-csv-read.ts";
import { MARIADB_URL, testDatabase } from "../../../test/support/agent/unit-helpers.ts";
import { ResultUpload } from "../result-upload.ts";
import {
  BATCH_BYTES,
  BATCH_ROWS,
  type CsvRows,
  type Driver,
  type ExecuteOptions,
  type RowSink,
} from "./driver.ts";
import { createMysqlDriver } from "./mysql.ts";
import { settingProblem } from "../../../shared/src/sql/safe-settings.ts";

const READ: ExecuteOptions = { operation: "read", rowCap: 1_000_000, statementTimeoutMs: 60_000 };
const WRITE: ExecuteOptions = { operation: "write", rowCap: 1_000_000, statementTimeoutMs: 60_000 };

const RUN = `${process.pid}_${Date.now()}`;
const T = `csv_attack_${RUN}`;
const P = `csv_attack_proc_${RUN}`;
const P2 = `csv_attack_proc2_${RUN}`;
const W = `csv_attack_w_${RUN}`;

const read = (driver: Driver, sql: string, csv: boolean, options: ExecuteOptions = READ): Promise<Read> =>
  readRows(driver, sql, csv, options);

/** What the bot made of the values path (`ndjsonToCsv`, quoting by the same `csvValueText`). */
function csvOfValues(values: unknown[][]): Buffer {
  return ndjsonToCsv(Buffer.from(values.map((row) => `${JSON.stringify(row)}\n`).join("")));
}

function storedRows(result: Read): number {
  // The upload sends no chunk for no rows (the bot refuses a chunk of none).
  if (result.csv.length === 0) return 0;
  return countChunkRows(Buffer.concat([Buffer.from(csvChunkHead(result.kinds ?? [])), result.csv]));
}

/** The values as the bot stores them: NDJSON, parsed back. */
function asStored(values: unknown[][]): unknown[][] {
  return values.map((row) => JSON.parse(JSON.stringify(row)) as unknown[]);
}

/**
 * Both paths for `sql`: the CSV one must have been taken (unless `expectCsv` is false), and
 * give the bot's bytes, values and JSON text of the values path.
 */
async function differential(
  driver: Driver,
  sql: string,
  expectCsv: boolean | "either" = true,
  options: ExecuteOptions = READ,
): Promise<{ csv: Read; values: Read }> {
  const asCsv = await read(driver, sql, true, options);
  const asValues = await read(driver, sql, false, options);
  assert.deepEqual(asCsv.names, asValues.names);
  if (expectCsv === false || (expectCsv === "either" && asCsv.kinds === undefined)) {
    assert.equal(asCsv.kinds, undefined, `${sql}: went as CSV`);
    assert.equal(asCsv.batches.length, 0);
    assert.deepEqual(asStored(asCsv.values), asStored(asValues.values));
    return { csv: asCsv, values: asValues };
  }
  assert.ok(asCsv.kinds !== undefined, `${sql}: did not go as CSV`);
  assert.equal(asCsv.values.length, 0, "no row came as values");
  assert.equal(asCsv.csv.toString("utf8"), csvOfValues(asValues.values).toString("utf8"), sql);
  assert.equal(storedRows(asCsv), asValues.values.length, sql);
  const cells = parseCsvRows(asCsv.csv, 0, asCsv.names.length);
  const kinds = asCsv.kinds;
  assert.deepEqual(
    cells.map((row) => cellsToJson(row, kinds)),
    asStored(asValues.values),
    sql,
  );
  assert.deepEqual(
    cells.map((row) => cellsToJsonText(row, kinds)),
    asValues.values.map((row) => JSON.stringify(row)),
    sql,
  );
  return { csv: asCsv, values: asValues };
}

let driver: Driver;
let admin: mysql.Connection;

before(async () => {
  driver = createMysqlDriver(testDatabase("mysql", MARIADB_URL), () => undefined);
  admin = await mysql.createConnection({ uri: MARIADB_URL, multipleStatements: false });
});

after(async () => {
  await admin.query(`DROP TABLE IF EXISTS ${T}`);
  await admin.query(`DROP TABLE IF EXISTS ${W}`);
  await admin.query(`DROP PROCEDURE IF EXISTS ${P}`);
  await admin.query(`DROP PROCEDURE IF EXISTS ${P2}`);
  await admin.end();
  await driver.close();
});

/** Every column type MariaDB 10.11 has, in several character sets. */
const COLUMNS: readonly [string, string][] = [
  ["ti", "TINYINT"],
  ["ti1", "TINYINT(1)"],
  ["tu", "TINYINT UNSIGNED"],
  ["si", "SMALLINT"],
  ["mi", "MEDIUMINT"],
  ["i", "INT"],
  ["iu", "INT UNSIGNED"],
  ["izf", "INT(6) ZEROFILL"],
  ["bi", "BIGINT"],
  ["bu", "BIGINT UNSIGNED"],
  ["b1", "BIT(1)"],
  ["b64", "BIT(64)"],
  ["y", "YEAR"],
  ["t6", "TIME(6)"],
  ["d", "DATE"],
  ["dt6", "DATETIME(6)"],
  ["ts3", "TIMESTAMP(3) NULL DEFAULT NULL"],
  ["dec65", "DECIMAL(65,30)"],
  ["dec0", "DECIMAL(10,0)"],
  ["f", "FLOAT"],
  ["dbl", "DOUBLE"],
  ["dblp", "DOUBLE(20,10)"],
  ["e", "ENUM('a','b,c','\"q\"','', 'é')"],
  ["s", "SET('x','y','z')"],
  ["ch", "CHAR(6)"],
  ["bin4", "BINARY(4)"],
  ["vb", "VARBINARY(16)"],
  ["bl", "BLOB"],
  ["tb", "TINYBLOB"],
  ["lat", "TEXT CHARACTER SET latin1"],
  ["u3", "TEXT CHARACTER SET utf8mb3"],
  ["u4", "TEXT CHARACTER SET utf8mb4"],
  ["uc2", "TEXT CHARACTER SET ucs2"],
  ["u16", "TEXT CHARACTER SET utf16"],
  ["u32", "VARCHAR(20) CHARACTER SET utf32"],
  ["cp", "VARCHAR(20) CHARACTER SET cp1251"],
  ["sj", "VARCHAR(20) CHARACTER SET sjis"],
  ["asc", "VARCHAR(20) CHARACTER SET ascii"],
  ["vbin", "VARCHAR(20) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin"],
  ["ip6", "INET6"],
  ["uu", "UUID"],
  ["ip4", "INET4"],
];

/** Rows of extremes; column order as COLUMNS. */
const ROWS: readonly string[] = [
  `-128, 1, 255, -32768, -8388608, -2147483648, 4294967295, 42, -9223372036854775808, 18446744073709551615,
   b'1', b'1111111111111111111111111111111111111111111111111111111111111111', 2155, '-838:59:59.000000',
   '1000-01-01', '9999-12-31 23:59:59.999999', '2038-01-19 03:14:07.999',
   '-99999999999999999999999999999999999.999999999999999999999999999999', -9999999999,
   3.40282e38, 1.7976931348623157e308, 1234567890.0123456789,
   'b,c', 'x,y,z', 'ab  ', X'00000000', X'', X'', X'00',
   'é\\r\\n"', 'ü,€', '😀 "x"', 'Ω', '𝄞', 'ab', 'Жж', 'ｱ日本', '\\\\.',
   '\\\\.', '::ffff:1.2.3.4', '00000000-0000-0000-0000-000000000000', '255.255.255.255'`,
  `0, 0, 0, 0, 0, 0, 0, 0, 0, 0, b'0', b'0', 0, '00:00:00', '0000-00-00', '0000-00-00 00:00:00',
   '1970-01-01 00:00:01', 0, 0, -0e0, -0e0, 0, '', '', '', X'FFFFFFFF', X'FF00', X'00', X'',
   '', '', '', '', '', '', '', '', '', '', '::', 'ffffffff-ffff-ffff-ffff-ffffffffffff', '0.0.0.0'`,
  `NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
   NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
   NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL`,
  `127, 2, 1, 32767, 8388607, 2147483647, 1, 1, 9223372036854775807, 0, b'1', b'101', 1901,
   '838:59:59.999999', '2024-02-29', '2024-02-29 12:00:00.000001', '2024-02-29 12:00:00.5',
   '0.000000000000000000000000000001', 9999999999, 1e-7, 4.9e-324, -0.0000000001,
   '"q"', 'y', ' lead', X'0A0D2C22', X'0D0A', X'5C2E', X'22',
   'NULL', 'a\\tb', '\\\\', '\\\\.', ',', '"', 'a,b', 'Ё', 'x', '\\r', '2001:db8::1', '123e4567-e89b-12d3-a456-426614174000', '10.0.0.1'`,
  `-1, -1, 128, -1, -1, -1, 0, 999999, -1, 1, b'0', b'0', 2000, '-00:00:00.000001', '2000-01-01',
   '2000-01-01 00:00:00', '2000-01-01 00:00:00', -0.5, -1, 0.1, 0.30000000000000004, 1e10,
   'é', 'x,z', '  ', X'61626364', X'', X'FFFE', X'FF',
   'ÿ', '\\n', 'a\\r\\nb', '\\t', ' ', ' ', ' ', ' ', ' ', ' ', NULL, NULL, NULL`,
];

describe("every MariaDB column type, as CSV and as values", () => {
  before(async () => {
    await admin.query(
      `CREATE TABLE ${T} (n INT PRIMARY KEY, ${COLUMNS.map(([name, type]) => `\`${name}\` ${type}`).join(", ")})`,
    );
    for (const [k, row] of ROWS.entries()) {
      await admin.query(`INSERT INTO ${T} VALUES (${k}, ${row})`);
    }
  });

  test("the whole table at once", async () => {
    const { values } = await differential(driver, `SELECT * FROM ${T} ORDER BY n`);
    assert.equal(values.values.length, ROWS.length);
  });

  test("each column alone (a one-column result: `\\.` stays quoted)", async () => {
    for (const [name] of COLUMNS) {
      await differential(driver, `SELECT \`${name}\` FROM ${T} ORDER BY n`);
    }
  });

  test("each column as another character set's text, and as binary", async () => {
    for (const [name] of COLUMNS) {
      for (const cs of ["latin1", "utf8mb4", "ucs2", "binary", "ascii", "utf16"]) {
        await differential(
          driver,
          `SELECT CAST(\`${name}\` AS CHAR CHARACTER SET ${cs}) AS c FROM ${T} ORDER BY n`,
        );
      }
    }
  });

  test("some values the server writes as text are what we think they are", async () => {
    const { values } = await differential(
      driver,
      `SELECT ti1, bi, bu, b1, y, t6, dec65, f, dbl, e, ch, lat FROM ${T} WHERE n = 0`,
    );
    assert.deepEqual(values.values[0], [
      1,
      "-9223372036854775808",
      "18446744073709551615",
      "AQ==",
      2155,
      "-838:59:59.000000",
      "-99999999999999999999999999999999999.999999999999999999999999999999",
      3.40282e38,
      1.7976931348623157e308,
      "b,c",
      "ab",
      'é\r\n"',
    ]);
  });
});

/** Expressions: [sql, goes as CSV?] ("either": either way, as long as both paths agree). */
const EXPRESSIONS: readonly [string, boolean | "either"][] = [
  ["SELECT -0e0 AS z, CAST(-0.0 AS DOUBLE) AS z2, -1e-300 * 1e-300 AS under", true],
  [
    "SELECT 1e-7 AS a, 3.4e38 AS b, CAST(3.4e38 AS FLOAT) AS c, 4.9e-324 AS d, 1.7976931348623157e308 AS e",
    true,
  ],
  [
    "SELECT 0.1 + 0.2 AS a, 0.1e0 + 0.2e0 AS b, 1/3 AS c, 1e0/3 AS d, 123456789012345678901234567890e0 AS e",
    true,
  ],
  [
    "SELECT 2.2250738585072014e-308 AS a, 5e-324 AS b, 9007199254740993e0 AS c, 1e21 AS d, 1e20 AS e, 123456.7e0 AS f",
    true,
  ],
  [
    "SELECT CAST(1.5 AS FLOAT) AS a, CAST(16777217 AS FLOAT) AS b, CAST(0.1 AS FLOAT) * 3 AS c, CAST(1e-45 AS FLOAT) AS d",
    true,
  ],
  ["SELECT 9223372036854775807 AS a, 18446744073709551615 AS b, -9223372036854775808 AS c, ~0 AS d", true],
  [
    "SELECT 99999999999999999999999999999999999999999999999999999999999999999 AS big, -0.0 AS nz, 0.000 AS z",
    true,
  ],
  [
    "SELECT NULL AS a, NULL + 1 AS b, CAST(NULL AS CHAR) AS c, CAST(NULL AS SIGNED) AS d, @no_such_var AS e",
    true,
  ],
  ["SELECT NULL AS a UNION ALL SELECT 1 UNION ALL SELECT 'x' UNION ALL SELECT 2.5", true],
  ["SELECT 1 AS a UNION ALL SELECT 'a,b' UNION ALL SELECT X'00FF' UNION ALL SELECT 1e0", true],
  ["SELECT TRUE AS t, FALSE AS f, 1 = 1 AS eq, NULL IS NULL AS isn, 'a' LIKE 'a' AS l", true],
  [
    "SELECT X'41' AS hex, 0x41 AS h2, b'1' AS bit1, b'11111111' AS bit8, _binary 'x' AS bx, X'' AS empty",
    true,
  ],
  [
    "SELECT CHAR(0) AS nul, CHAR(0 USING utf8mb4) AS nul8, CONCAT('a', CHAR(0 USING utf8mb4), 'b') AS mid, 1 AS n",
    true,
  ],
  ["SELECT CONCAT('x', CHAR(0 USING latin1)) AS a, CONCAT(CHAR(0 USING latin1), ',') AS b", true],
  ["SELECT '\\\\.' AS only", true],
  ["SELECT '\\\\.' AS a, '\\\\.' AS b", true],
  ["SELECT '\\\\.\\n' AS a", true],
  ["SELECT ' \\\\.' AS a", true],
  ["SELECT '' AS a", true],
  ["SELECT '' AS a, '' AS b", true],
  ["SELECT '\\r' AS cr, '\\n' AS lf, '\"' AS q, ',' AS c, '\\t' AS tab, '\\Z' AS ctrlz, '\\b' AS bs", true],
  [
    "SELECT '😀' AS e, CONVERT('😀' USING utf16) AS u16, CONVERT('😀' USING utf32) AS u32, CONVERT('😀' USING utf8mb3) AS u3",
    true,
  ],
  [
    "SELECT CONVERT('é' USING latin1) AS l, CONVERT(X'E9' USING latin1) AS l2, CONVERT(X'FF' USING utf8mb4) AS bad8",
    true,
  ],
  [
    "SELECT CAST(X'C3' AS CHAR CHARACTER SET utf8mb4) AS cut, CAST(X'80' AS CHAR CHARACTER SET utf8mb4) AS lone",
    true,
  ],
  [
    "SELECT CAST(X'D800' AS CHAR CHARACTER SET utf16) AS sur, CAST(X'0000D800' AS CHAR CHARACTER SET utf32) AS sur32",
    true,
  ],
  ["SELECT _latin1 X'8081FF' AS l, _cp1251 X'C0' AS c, _sjis X'8260' AS s, _ucs2 X'00E9' AS u", true],
  [
    "SELECT CAST('2024-01-01' AS DATETIME(6)) AS a, CAST('838:59:59.999999' AS TIME(6)) AS b, MAKETIME(-838, 59, 59) AS c",
    true,
  ],
  [
    "SELECT SEC_TO_TIME(-1) AS a, TIMEDIFF('00:00:00', '00:00:01.5') AS b, CURDATE() - CURDATE() AS c, YEAR('2024-01-01') AS d",
    true,
  ],
  [
    "SELECT CAST('0000-00-00' AS DATE) AS a, DATE('2024-02-30') AS b, FROM_UNIXTIME(0) AS c, STR_TO_DATE('x', '%Y') AS d",
    true,
  ],
  [
    "SELECT CAST(1 AS UNSIGNED) AS a, CAST(-1 AS UNSIGNED) AS b, CAST('12abc' AS SIGNED) AS c, CAST(1 AS DECIMAL(65,30)) AS d",
    true,
  ],
  [
    "SELECT UUID() IS NOT NULL AS a, CAST('::1' AS INET6) AS b, CAST('1.2.3.4' AS INET4) AS c, CAST(UUID() AS UUID) IS NULL AS d",
    true,
  ],
  [
    "SELECT INET6_ATON('::1') AS a, INET_ATON('1.2.3.4') AS b, UNHEX('00FF') AS c, AES_ENCRYPT('a', 'k') AS d",
    true,
  ],
  [
    "SELECT SHA2('a', 256) AS a, MD5('a') AS b, COMPRESS('aaaa') AS c, UNCOMPRESS(COMPRESS('é')) AS d, WEIGHT_STRING('a') AS e",
    true,
  ],
  ["SELECT COLUMN_CREATE('a', 1) AS dyn, COLUMN_JSON(COLUMN_CREATE('a', 1, 'b', 'x')) AS dj", "either"],
  ["SELECT JSON_OBJECT('a', 1, 'b', 'x,y') AS j", "either"],
  ["SELECT JSON_ARRAY(1, 'a', NULL) AS j, 1 AS n", "either"],
  [
    "SELECT JSON_EXTRACT('{\"a\":\"x\"}', '$.a') AS j, JSON_UNQUOTE(JSON_EXTRACT('{\"a\":\"x\"}', '$.a')) AS u",
    "either",
  ],
  [
    "SELECT JSON_VALUE('{\"a\":1}', '$.a') AS v, JSON_VALID('1') AS ok, JSON_LENGTH('[1,2]') AS len",
    "either",
  ],
  [
    "SELECT JSON_QUERY('{\"a\":[1]}', '$.a') AS q, JSON_KEYS('{\"a\":1}') AS k, JSON_TYPE('1') AS t",
    "either",
  ],
  ["SELECT JSON_ARRAYAGG(seq) AS agg, JSON_OBJECTAGG(seq, seq) AS obj FROM seq_1_to_3", "either"],
  [
    "SELECT * FROM JSON_TABLE('[{\"a\":1,\"b\":\"x\"}]', '$[*]' COLUMNS (a INT PATH '$.a', b VARCHAR(5) PATH '$.b', j JSON PATH '$')) AS jt",
    "either",
  ],
  ["SELECT POINT(1, 2) AS g", false],
  ["SELECT ST_AsText(POINT(1, 2)) AS t, ST_AsBinary(POINT(1, 2)) AS b, ST_X(POINT(1.5, 2)) AS x", true],
  [
    "SELECT GROUP_CONCAT(seq ORDER BY seq SEPARATOR ',') AS g, GROUP_CONCAT(X'00' SEPARATOR '') AS b FROM seq_1_to_5",
    true,
  ],
  [
    "SELECT VERSION() AS v, DATABASE() AS d, USER() AS u, @@sql_mode AS m, @@max_statement_time AS t, @@autocommit AS a",
    true,
  ],
  [
    "SELECT @@time_zone AS tz, @@character_set_results AS cs, @@collation_connection AS cc, @@global.max_connections AS mc",
    true,
  ],
  [
    "SELECT CONNECTION_ID() > 0 AS a, LAST_INSERT_ID() AS b, ROW_COUNT() AS c, FOUND_ROWS() AS d, BENCHMARK(1, 1) AS e",
    true,
  ],
  [
    "SELECT NAME_CONST('x', 1) AS a, NAME_CONST('y', 'é') AS b, 'a' COLLATE utf8mb4_bin AS c, BINARY 'x' AS d",
    true,
  ],
  [
    "SELECT CAST('a' AS BINARY(3)) AS a, CAST('é' AS CHAR(1)) AS b, CONVERT('x', CHAR(0)) AS c, SPACE(3) AS d",
    true,
  ],
  ["VALUES (1, 'a'), (2, NULL), (3, '')", true],
  [
    "WITH RECURSIVE r(n, s) AS (SELECT 1, CAST('é' AS CHAR(100)) UNION ALL SELECT n + 1, CONCAT(s, ',\"') FROM r WHERE n < 20) SELECT * FROM r",
    true,
  ],
  ["SELECT seq, seq / 7 AS q, seq * 1e-3 AS f, POW(2, seq) AS p, -seq AS m FROM seq_1_to_70", true],
  [
    "SELECT ROW_NUMBER() OVER () AS rn, LAG(seq) OVER (ORDER BY seq) AS l, AVG(seq) OVER () AS a FROM seq_1_to_4",
    true,
  ],
  ['SELECT 1 AS `a,b`, 2 AS `"q"`, 3 AS `line\nbreak`, 4 AS ``, 5 AS `é`', "either"],
  ["SELECT 1 AS a, 1 AS a", true],
  [
    "SELECT CAST(-12 AS DECIMAL(6,2)) AS a, 1e0 * 0.1 AS b, ROUND(2.5) AS c, TRUNCATE(1.999, 1) AS d, CAST(1 AS DOUBLE) AS e",
    true,
  ],
  ["SHOW VARIABLES LIKE 'character_set%'", "either"],
  ["SHOW SESSION STATUS LIKE 'Bytes%'", "either"],
  ["EXPLAIN SELECT * FROM seq_1_to_10", "either"],
  ["EXPLAIN FORMAT=JSON SELECT * FROM seq_1_to_10", "either"],
  [
    "SELECT user, db, command, info, info_binary, state FROM information_schema.processlist WHERE id = CONNECTION_ID()",
    "either",
  ],
  ["SHOW COLLATION LIKE 'utf8mb4_b%'", "either"],
  ["SHOW WARNINGS", "either"],
  [
    "SELECT * FROM information_schema.columns WHERE table_schema = 'information_schema' ORDER BY table_name, ordinal_position LIMIT 300",
    "either",
  ],
  [
    "SELECT * FROM information_schema.session_variables WHERE variable_name RLIKE '^(CHAR|COLL|SQL_MODE|TIME_ZONE|DATE|INNODB_B)' ORDER BY variable_name",
    "either",
  ],
  [
    "SELECT CAST(1e-7 AS DECIMAL(20,10)) AS a, CAST(100 AS CHAR) AS b, CAST(1.0 AS FLOAT) AS c, 7 DIV 2 AS d, 7 % 2 AS e",
    true,
  ],
];

describe("expressions, functions and mixed results, as CSV and as values", () => {
  for (const [sql, expectCsv] of EXPRESSIONS) {
    test(sql, async () => {
      await differential(driver, sql, expectCsv);
    });
  }
});

describe("session settings a reviewed request may make", () => {
  test("time_zone, div_precision_increment and sql_select_limit change both paths alike", async () => {
    const session = [
      "SET SESSION time_zone = '+05:45'",
      "SET SESSION div_precision_increment = 30",
      "SET SESSION sql_select_limit = 7",
    ];
    const { values } = await differential(
      driver,
      "SELECT seq, FROM_UNIXTIME(seq) AS t, NOW() - NOW() AS z, seq / 7 AS q, CAST(FROM_UNIXTIME(0) AS CHAR) AS c FROM seq_1_to_20",
      true,
      { ...READ, session },
    );
    assert.equal(values.values.length, 7);
    assert.equal(values.values[0]?.[3], "0.142857142857142857142857142857");
    assert.equal(values.values[0]?.[1], "1970-01-01 05:45:01");
  });

  test("settings that change the result's encoding are not among those a request may make", () => {
    for (const name of [
      "character_set_results",
      "character_set_client",
      "character_set_connection",
      "names",
      "sql_mode",
    ]) {
      assert.ok(settingProblem("mysql", name, [{ kind: "string", value: "latin1" }]) !== undefined, name);
    }
  });

  test("were one to get through (character_set_results = NULL or binary), both paths still agree", async () => {
    // Its own pool: mysql2 takes `SET NAMES`' encoding for the connection's later SQL text, and
    // the session reset does not give it back (see the report), which would spoil later tests.
    const own = createMysqlDriver(testDatabase("mysql", MARIADB_URL), () => undefined);
    try {
      for (const setting of [
        "SET character_set_results = NULL",
        "SET character_set_results = binary",
        "SET NAMES latin1",
      ]) {
        await differential(own, `SELECT lat, u4, uc2, u16, cp, sj, e, s, ch FROM ${T} ORDER BY n`, true, {
          ...READ,
          session: [setting],
        });
      }
    } finally {
      await own.close();
    }
  });
});

describe("multiple result sets, and writes that return rows", () => {
  before(async () => {
    await admin.query(
      `CREATE PROCEDURE ${P}() BEGIN SELECT seq AS a, CONCAT('é,', seq) AS b FROM seq_1_to_1500; SELECT 'second' AS other, JSON_OBJECT('x', 1) AS j; END`,
    );
    await admin.query(
      `CREATE PROCEDURE ${P2}() BEGIN SELECT JSON_OBJECT('x', 1) AS j, 1 AS n; SELECT 'second' AS other; END`,
    );
    await admin.query(
      `CREATE TABLE ${W} (id INT PRIMARY KEY, t TEXT CHARACTER SET utf8mb4, b BLOB, d DECIMAL(10,2), f DOUBLE)`,
    );
  });

  test("a CALL sends its first result set, as CSV, and only that one", async () => {
    const { csv, values } = await differential(driver, `CALL ${P}()`, true, WRITE);
    assert.deepEqual(csv.names, ["a", "b"]);
    assert.equal(values.values.length, 1500);
    assert.ok(csv.batches.length >= 2);
  });

  test("a CALL whose first result set has a JSON column sends its values, and only that set", async () => {
    const { values } = await differential(driver, `CALL ${P2}()`, false, WRITE);
    assert.deepEqual(values.values, [[{ x: 1 }, 1]]);
  });

  const fill = (): Promise<unknown> =>
    admin.query(
      `INSERT INTO ${W} SELECT seq, IF(seq % 3 = 0, NULL, CONCAT('r', seq, ',"\\n')), IF(seq % 2 = 0, X'00FF', ''), seq / 4, seq * 1e-3 FROM seq_1_to_2500`,
    );

  test("DELETE … RETURNING gives the same rows as CSV as it gave as values, and deletes them", async () => {
    const sql = `DELETE FROM ${W} WHERE id <= 2400 RETURNING id, t, b, d, f, CONCAT(t, 'ü') AS tu`;
    await fill();
    const asCsv = await read(driver, sql, true, WRITE);
    await admin.query(`DELETE FROM ${W}`);
    await fill();
    const asValues = await read(driver, sql, false, WRITE);
    assert.ok(asCsv.kinds !== undefined);
    assert.equal(asValues.values.length, 2400);
    assert.equal(asCsv.csv.toString("utf8"), csvOfValues(asValues.values).toString("utf8"));
    assert.equal(storedRows(asCsv), 2400);
    const [left] = await admin.query(`SELECT COUNT(*) AS c FROM ${W}`);
    assert.deepEqual(left, [{ c: 100 }]);
  });

  test("INSERT … RETURNING, with a row cap that stops it mid-batch, still commits every row", async () => {
    await admin.query(`DELETE FROM ${W}`);
    const sql = `INSERT INTO ${W} SELECT seq, REPEAT('日', seq % 50), NULL, seq, seq FROM seq_1_to_3000 RETURNING id, t`;
    const chunks = await upload(sql, true, { rowCap: 1234, chunkBytes: 20_000 }, WRITE);
    assert.equal(chunks.summary.row_count, 1234);
    assert.equal(chunks.summary.truncated_by, "rows");
    const [left] = await admin.query(`SELECT COUNT(*) AS c FROM ${W}`);
    assert.deepEqual(left, [{ c: 3000 }]);
  });
});

interface Uploaded {
  chunks: Buffer[];
  summary: Awaited<ReturnType<ResultUpload["finish"]>>;
}

/** Streams `sql` through the agent's real upload, into chunks as the bot would store them. */
async function upload(
  sql: string,
  csv: boolean,
  limits: { rowCap?: number; maxBytes?: number; chunkBytes?: number },
  options: ExecuteOptions = READ,
): Promise<Uploaded> {
  const chunks: Buffer[] = [];
  const up = new ResultUpload({
    rowCap: limits.rowCap ?? 1_000_000,
    maxBytes: limits.maxBytes ?? 1024 * 1024 * 1024,
    ...(limits.chunkBytes === undefined ? {} : { chunkBytes: limits.chunkBytes }),
    send: (seq, body) => {
      assert.equal(seq, chunks.length);
      // The bot's own check of every chunk it stores (throws for one it refuses).
      const copy = Buffer.from(body);
      countChunkRows(copy);
      chunks.push(copy);
      return Promise.resolve({ cancel: false });
    },
    onStop: (why, err) => assert.fail(`upload stopped: ${why} ${String(err)}`),
  });
  const sink: RowSink = {
    columns: (names, kinds) => up.columns(names, kinds),
    rows: (batch) => up.rows(batch),
    ...(csv ? { csv: (batch: CsvRows) => up.csv(batch) } : {}),
  };
  await driver.stream(sql, { ...options, rowCap: limits.rowCap ?? options.rowCap }, sink);
  return { chunks, summary: await up.finish() };
}

/** The same statement through the upload as CSV and as values: the same rows, CSV and JSON. */
async function uploadDifferential(
  sql: string,
  limits: { rowCap?: number; maxBytes?: number; chunkBytes?: number },
): Promise<{ csv: Uploaded; values: Uploaded }> {
  const asCsv = await upload(sql, true, limits);
  const asValues = await upload(sql, false, limits);
  assert.ok(
    asCsv.chunks.every((c) => c[0] === 0x25),
    "every chunk is CSV",
  );
  assert.equal(asCsv.summary.row_count, asValues.summary.row_count);
  assert.equal(asCsv.summary.truncated_by, asValues.summary.truncated_by);
  assert.deepEqual(asCsv.summary.columns, asValues.summary.columns);
  const csvOf = (u: Uploaded): string => Buffer.concat(u.chunks.map(chunkCsv)).toString("utf8");
  assert.equal(csvOf(asCsv), csvOf(asValues));
  assert.deepEqual(asCsv.chunks.flatMap(chunkJsonLines), asValues.chunks.flatMap(chunkJsonLines));
  return { csv: asCsv, values: asValues };
}

describe("large results: batch ends, row caps, chunk ends", () => {
  const WIDE = `SELECT seq AS id, REPEAT('日', 2000 + seq % 7) AS t, IF(seq % 5 = 0, '"a,\\nb"', NULL) AS q, seq * 0.5e0 AS f FROM seq_1_to_1500`;

  test("batches cut by size (multi-byte text, so byte ends come from the slow path) give the same rows", async () => {
    const { csv } = await differential(driver, WIDE);
    assert.ok(csv.batches.length >= 3, `${csv.batches.length} batches`);
    assert.ok(
      csv.batches.some((rows) => rows < BATCH_ROWS && rows * 2000 >= BATCH_BYTES / 2),
      `a batch was cut by its size: ${csv.batches.join(",")}`,
    );
  });

  test("ASCII and multi-byte rows mixed in one batch: the fast-path guess is never taken wrongly", async () => {
    const sql = `SELECT seq, IF(seq = 999, 'é', 'a') AS t FROM seq_1_to_2000`;
    await differential(driver, sql);
    const emoji = `SELECT seq, IF(seq % 400 = 0, '😀', REPEAT('x', 3)) AS t FROM seq_1_to_2000`;
    await differential(driver, emoji);
  });

  test("a single row larger than a batch (6 MB of text) goes alone, whole", async () => {
    const { csv } = await differential(
      driver,
      `SELECT 1 AS n, REPEAT('é,', 1500000) AS t UNION ALL SELECT 2, 'x'`,
    );
    assert.deepEqual(csv.batches, [1, 1]);
  });

  for (const rowCap of [1, 999, 1000, 1001, 1234, 1499]) {
    test(`the upload's row cap (${rowCap}) stops the CSV rows where it stopped the values`, async () => {
      const { csv } = await uploadDifferential(WIDE, { rowCap, chunkBytes: 300_000 });
      assert.equal(csv.summary.row_count, rowCap);
      assert.equal(csv.summary.truncated_by, "rows");
      assert.ok(
        csv.chunks.every((chunk) => chunk.length <= 300_000),
        "no chunk above its size",
      );
    });
  }

  test("the pool serves the next read after a cap dropped a connection mid-result", async () => {
    await uploadDifferential(WIDE, { rowCap: 10, chunkBytes: 300_000 });
    await differential(driver, `SELECT seq, 'é' AS t FROM seq_1_to_3`);
  });

  test("chunks cut mid-batch by the chunk size hold whole rows, and every one is accepted", async () => {
    const { csv } = await uploadDifferential(WIDE, { chunkBytes: 123_457 });
    assert.equal(csv.summary.row_count, 1500);
    assert.ok(csv.chunks.length > 10);
  });

  test("a row the values path delivered within MAX_RESULT_CHUNK_BYTES is delivered as CSV too", async () => {
    // Found by this file: the CSV path counted the chunk's `%csv <kinds>` head line (7 bytes per
    // number column) against MAX_RESULT_CHUNK_BYTES for a single row, so a row of one long text
    // and 999 integers whose NDJSON line fits in 8 MiB came back as 0 rows, truncated by bytes.
    // The bound is now on the rows, and the bot takes the head line above it (MAX_CSV_HEAD_BYTES).
    const numbers = Array.from({ length: 999 }, (_, k) => `1 AS c${k}`).join(", ");
    const text = MAX_RESULT_CHUNK_BYTES - 2003 - 1000;
    const sql = `SELECT REPEAT('a', ${text}) AS t, ${numbers}`;
    const asValues = await upload(sql, false, {});
    assert.equal(asValues.summary.row_count, 1, "the values path delivers the row");
    assert.equal(asValues.summary.truncated_by, null);
    assert.ok(asValues.chunks[0] !== undefined && asValues.chunks[0].length <= MAX_RESULT_CHUNK_BYTES);
    const asCsv = await upload(sql, true, {});
    assert.equal(asCsv.summary.truncated_by, null, "the CSV path truncates a row the values path delivered");
    assert.equal(asCsv.summary.row_count, 1);
    const body = asCsv.chunks[0]?.length ?? 0;
    assert.ok(
      body > MAX_RESULT_CHUNK_BYTES && body <= BODY_LIMITS.chunk,
      `${body} bytes, within the bot's limit`,
    );
  });
});
