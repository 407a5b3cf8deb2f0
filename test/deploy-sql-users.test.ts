/**
 * deploy/sql/*-agent-users.sql against the real local PostgreSQL and MariaDB (SECURITY.md:
 * least-privilege database users for the agent, never a superuser). Each suite creates a scratch
 * schema or database and uniquely named users, runs the script the way the docs say (psql with
 * -v variables; the mariadb client with SET @variables and SOURCE), twice, and then proves what
 * each user can and cannot do, logged in as that user. Everything is dropped afterwards.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { resolve } from "node:path";
import { after, before, describe, test } from "node:test";
import { promisify } from "node:util";
import mysql from "mysql2/promise";
import pg from "pg";
import { initSqlReview } from "@dbward/shared";
import { dryRunPostgres } from "../agent/src/preflight/dry-run-postgres.ts";
import { assertDryRunSafe, dryRunRelations } from "../agent/src/preflight/dry-run-safety.ts";
import { collectPostgresSchema } from "../agent/src/schema/postgres-schema.ts";

const run = promisify(execFile);
const suffix = randomBytes(4).toString("hex");
const READER = `dbward_t_reader_${suffix}`;
const MIGRATOR = `dbward_t_migrator_${suffix}`;
const PASSWORD = { reader: `r-${suffix}-pw`, migrator: `m-${suffix}-pw` };

/** The SQLSTATE (PostgreSQL) or errno (MariaDB) a statement fails with, or "ok". */
async function outcome(query: () => Promise<unknown>): Promise<string> {
  try {
    await query();
    return "ok";
  } catch (err) {
    const e = err as { code?: unknown; errno?: unknown };
    return String(typeof e.errno === "number" ? e.errno : e.code);
  }
}

describe("deploy/sql/postgres-agent-users.sql", () => {
  const schema = `dbward_t_${suffix}`;
  const base = { host: "127.0.0.1", port: 5432, database: "test" };
  const admin = new pg.Client({ ...base, user: "postgres" });
  const reader = new pg.Client({ ...base, user: READER, password: PASSWORD.reader });
  const migrator = new pg.Client({ ...base, user: MIGRATOR, password: PASSWORD.migrator });
  const psql = () =>
    run("psql", [
      ...["-h", "127.0.0.1", "-U", "postgres", "-d", "test", "-q", "-v", "ON_ERROR_STOP=1"],
      ...["-v", "db=test", "-v", `schema=${schema}`],
      ...["-v", `reader=${READER}`, "-v", `reader_password=${PASSWORD.reader}`],
      ...["-v", `migrator=${MIGRATOR}`, "-v", `migrator_password=${PASSWORD.migrator}`],
      ...["-f", resolve("deploy/sql/postgres-agent-users.sql")],
    ]);

  before(async () => {
    await admin.connect();
    await admin.query(`CREATE SCHEMA ${schema}`);
    await admin.query(`CREATE TABLE ${schema}.orders (id int PRIMARY KEY, note text)`);
    await admin.query(`INSERT INTO ${schema}.orders VALUES (1, 'first')`);
    await psql();
    await psql();
    await reader.connect();
    await migrator.connect();
  });
  after(async () => {
    await reader.end().catch(() => undefined);
    await migrator.end().catch(() => undefined);
    await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    for (const role of [READER, MIGRATOR]) {
      await admin.query(`DROP OWNED BY ${role}`).catch(() => undefined);
      await admin.query(`DROP ROLE IF EXISTS ${role}`);
    }
    await admin.end();
  });

  test("neither user has a dangerous role attribute", async () => {
    const { rows } = await admin.query(
      `SELECT rolname, rolsuper, rolcreaterole, rolcreatedb, rolreplication, rolbypassrls, rolcanlogin
         FROM pg_roles WHERE rolname = ANY($1) ORDER BY rolname`,
      [[READER, MIGRATOR]],
    );
    assert.equal(rows.length, 2);
    for (const r of rows) {
      assert.deepEqual(
        [r.rolsuper, r.rolcreaterole, r.rolcreatedb, r.rolreplication, r.rolbypassrls, r.rolcanlogin],
        [false, false, false, false, false, true],
        r.rolname as string,
      );
    }
  });

  test("the reader reads, including tables created after the script ran", async () => {
    assert.deepEqual((await reader.query(`SELECT note FROM ${schema}.orders`)).rows, [{ note: "first" }]);
    await admin.query(`CREATE TABLE ${schema}.later (id int)`);
    assert.equal(await outcome(() => reader.query(`SELECT * FROM ${schema}.later`)), "ok");
  });

  test("the reader cannot write: read-only by default, and without privileges when it turns that off", async () => {
    assert.equal(await outcome(() => reader.query(`INSERT INTO ${schema}.orders VALUES (2, 'x')`)), "25006");
    await reader.query("SET default_transaction_read_only = off");
    for (const sql of [
      `INSERT INTO ${schema}.orders VALUES (2, 'x')`,
      `UPDATE ${schema}.orders SET note = 'x'`,
      `DELETE FROM ${schema}.orders`,
      `TRUNCATE ${schema}.orders`,
      `CREATE TABLE ${schema}.mine (id int)`,
      `DROP TABLE ${schema}.orders`,
      `CREATE ROLE dbward_t_escalate_${suffix}`,
    ]) {
      assert.equal(await outcome(() => reader.query(sql)), "42501", sql);
    }
    assert.deepEqual((await admin.query(`SELECT count(*)::int AS n FROM ${schema}.orders`)).rows, [{ n: 1 }]);
  });

  test("the reader plans reads for approvers (EXPLAIN), and cannot plan a write it may not run", async () => {
    await reader.query("BEGIN READ ONLY");
    const plan = await reader.query(`EXPLAIN (FORMAT JSON) SELECT note FROM ${schema}.orders`);
    await reader.query("ROLLBACK");
    assert.equal(plan.rows.length, 1, "one JSON plan");
    await reader.query("BEGIN READ ONLY");
    assert.equal(
      await outcome(() => reader.query(`EXPLAIN (FORMAT JSON) UPDATE ${schema}.orders SET note = 'x'`)),
      "42501",
    );
    await reader.query("ROLLBACK");
  });

  test("the migrator plans its writes inside READ ONLY, and nothing changes", async () => {
    await migrator.query("BEGIN READ ONLY");
    assert.equal(
      await outcome(() => migrator.query(`EXPLAIN (FORMAT JSON) UPDATE ${schema}.orders SET note = 'x'`)),
      "ok",
    );
    await migrator.query("ROLLBACK");
    assert.deepEqual((await admin.query(`SELECT note FROM ${schema}.orders WHERE id = 1`)).rows, [
      { note: "first" },
    ]);
  });

  test("dry runs: the migrator's is counted by the agent's own dry run and safety check and changes nothing; the reader's is refused", async () => {
    await initSqlReview();
    const sql = `UPDATE ${schema}.orders SET note = 'dry' WHERE id = 1`;
    const pool = (user: string, password: string) => new pg.Pool({ ...base, user, password, max: 1 });
    const asMigrator = pool(MIGRATOR, PASSWORD.migrator);
    const asReader = pool(READER, PASSWORD.reader);
    try {
      const options = {
        statementTimeoutMs: 5000,
        beforeStatement: (client: pg.PoolClient) => assertDryRunSafe(client, dryRunRelations(sql)),
      };
      assert.equal((await dryRunPostgres(asMigrator, sql, options)).affected_rows, 1);
      await assert.rejects(dryRunPostgres(asReader, sql, options), (err: Error) => {
        assert.match(err.message, /permission denied/);
        return true;
      });
    } finally {
      await Promise.all([asMigrator.end(), asReader.end()]);
    }
    assert.deepEqual((await admin.query(`SELECT note FROM ${schema}.orders WHERE id = 1`)).rows, [
      { note: "first" },
    ]);
  });

  test("the reader collects the schema context: the schema's tables with their keys, from the catalogue alone", async () => {
    const asReader = new pg.Pool({ ...base, user: READER, password: PASSWORD.reader, max: 1 });
    try {
      const collected = await collectPostgresSchema(asReader);
      const orders = collected.tables.find((t) => t.schema === schema && t.name === "orders");
      assert.ok(orders !== undefined, "the reader sees the table it may read");
      assert.deepEqual(orders.primary_key, ["id"]);
    } finally {
      await asReader.end();
    }
  });

  test("the migrator changes data and schema in its schema, and what it creates the reader can read", async () => {
    assert.equal(
      await outcome(() => migrator.query(`INSERT INTO ${schema}.orders VALUES (2, 'second')`)),
      "ok",
    );
    assert.equal(await outcome(() => migrator.query(`CREATE TABLE ${schema}.migrated (id int)`)), "ok");
    assert.equal(
      await outcome(() => migrator.query(`ALTER TABLE ${schema}.migrated ADD COLUMN note text`)),
      "ok",
    );
    assert.equal(await outcome(() => reader.query(`SELECT * FROM ${schema}.migrated`)), "ok");
  });

  test("the migrator cannot create roles or databases, or create objects outside its schema", async () => {
    assert.equal(await outcome(() => migrator.query(`CREATE ROLE dbward_t_escalate_${suffix}`)), "42501");
    assert.equal(await outcome(() => migrator.query(`CREATE DATABASE dbward_t_db_${suffix}`)), "42501");
    assert.equal(
      await outcome(() => migrator.query(`CREATE TABLE public.dbward_t_${suffix} (id int)`)),
      "42501",
    );
    assert.equal(await outcome(() => migrator.query(`ALTER ROLE ${MIGRATOR} SUPERUSER`)), "42501");
  });
});

describe("deploy/sql/mysql-agent-users.sql on MariaDB", () => {
  const db = `dbward_t_${suffix}`;
  const base = { host: "127.0.0.1", port: 3306, database: db };
  let root: mysql.Connection;
  let reader: mysql.Connection;
  let migrator: mysql.Connection;
  const source = () =>
    run("mariadb", [
      ...["-h", "127.0.0.1", "-u", "root", "-e"],
      `SET @db='${db}', @host='%', @reader='${READER}', @reader_password='${PASSWORD.reader}', ` +
        `@migrator='${MIGRATOR}', @migrator_password='${PASSWORD.migrator}'; ` +
        `SOURCE ${resolve("deploy/sql/mysql-agent-users.sql")};`,
    ]);

  before(async () => {
    root = await mysql.createConnection({ host: "127.0.0.1", port: 3306, user: "root" });
    await root.query(`CREATE DATABASE ${db}`);
    await root.query(`CREATE TABLE ${db}.orders (id int PRIMARY KEY, note varchar(20))`);
    await root.query(`INSERT INTO ${db}.orders VALUES (1, 'first')`);
    await source();
    await source();
    reader = await mysql.createConnection({ ...base, user: READER, password: PASSWORD.reader });
    migrator = await mysql.createConnection({ ...base, user: MIGRATOR, password: PASSWORD.migrator });
  });
  after(async () => {
    await reader?.end();
    await migrator?.end();
    await root.query(`DROP DATABASE IF EXISTS ${db}`);
    await root.query(`DROP USER IF EXISTS '${READER}'@'%', '${MIGRATOR}'@'%'`);
    await root.end();
  });

  test("the reader reads, including tables created after the script ran", async () => {
    const [rows] = await reader.query(`SELECT note FROM orders`);
    assert.deepEqual(rows, [{ note: "first" }]);
    await root.query(`CREATE TABLE ${db}.later (id int)`);
    assert.equal(await outcome(() => reader.query("SELECT * FROM later")), "ok");
  });

  test("the reader cannot write, create, drop, or read another database", async () => {
    for (const sql of [
      "INSERT INTO orders VALUES (2, 'x')",
      "UPDATE orders SET note = 'x'",
      "DELETE FROM orders",
      "CREATE TABLE mine (id int)",
      "DROP TABLE orders",
    ]) {
      assert.equal(await outcome(() => reader.query(sql)), "1142", sql);
    }
    assert.equal(await outcome(() => reader.query("SELECT * FROM mysql.user")), "1142");
    const [[count]] = (await root.query(`SELECT COUNT(*) AS n FROM ${db}.orders`)) as unknown as [
      [{ n: number }],
    ];
    assert.equal(count.n, 1);
  });

  test("the reader plans reads for approvers (EXPLAIN FORMAT=JSON)", async () => {
    assert.equal(await outcome(() => reader.query("EXPLAIN FORMAT=JSON SELECT note FROM orders")), "ok");
  });

  test("the migrator changes data and schema in its database only, and holds no global privilege", async () => {
    assert.equal(await outcome(() => migrator.query("INSERT INTO orders VALUES (2, 'second')")), "ok");
    assert.equal(await outcome(() => migrator.query("CREATE TABLE migrated (id int)")), "ok");
    assert.equal(await outcome(() => migrator.query("ALTER TABLE migrated ADD COLUMN note text")), "ok");
    assert.equal(await outcome(() => migrator.query("SELECT * FROM mysql.user")), "1142");
    assert.equal(await outcome(() => migrator.query(`CREATE USER 'dbward_t_x_${suffix}'@'%'`)), "1227");
    assert.equal(await outcome(() => migrator.query(`GRANT SELECT ON ${db}.* TO '${READER}'@'%'`)), "1044");
    const [grants] = (await migrator.query("SHOW GRANTS")) as unknown as [Record<string, string>[]];
    const text = grants.map((g) => Object.values(g)[0]).join("\n");
    assert.match(text, /GRANT USAGE ON \*\.\* TO/);
    assert.doesNotMatch(text, /ON \*\.\* TO .*(ALL|SUPER|FILE|PROCESS|CREATE USER)/);
    assert.doesNotMatch(text, /WITH GRANT OPTION/);
  });
});
