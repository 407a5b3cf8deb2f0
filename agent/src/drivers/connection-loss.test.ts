/**
 * A dependency failing under us, at the driver: on the real PostgreSQL and MariaDB, a connection
 * killed from a second session or cut on the wire, while a job uses it or while it idles in the
 * pool, fails the job at once with the database's own error marked as a lost connection, never
 * reaches the process as an unhandled 'error' event, and leaves the driver able to run the next
 * job. For SQLite, a file that cannot be opened is its lost connection.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import mysql from "mysql2/promise";
import pg from "pg";
import { DbwardError } from "@dbward/shared";
import { startTcpRelay, type TcpRelay } from "../../../test/support/tcp-relay.ts";
import { MARIADB_URL, PG_URL, tempDir, testDatabase } from "../../../test/support/agent/unit-helpers.ts";
import { isConnectionFailure, type Driver } from "./driver.ts";
import { createDriver } from "./registry.ts";

// Unique per run: the activity views list every session on the server, so with a fixed marker a
// test would kill another run's connection (a second checkout, or the suite run twice at once).
const RUN = randomBytes(4).toString("hex");

interface Server {
  readonly driver: "postgres" | "mysql";
  readonly port: number;
  url(port: number): string;
  /** A read that runs for minutes, with `marker` in its text. */
  longRead(marker: string): string;
  /** Server-side ids of the connections running a statement whose text contains `marker`. */
  running(marker: string): Promise<number[]>;
  /** Ends a connection from a second session, the way an operator or a failover does. */
  kill(id: number): Promise<void>;
  /** What the job's error says, at least. */
  readonly killedMessage: RegExp;
  close(): Promise<void>;
}

function postgres(): Server {
  const admin = new pg.Client(PG_URL);
  const connected = admin.connect();
  const ids = async (sql: string, values: unknown[] = []): Promise<number[]> => {
    await connected;
    return (await admin.query<{ pid: number }>(sql, values)).rows.map((r) => r.pid);
  };
  return {
    driver: "postgres",
    port: 5432,
    url: (port) => `postgres://postgres@127.0.0.1:${port}/test`,
    longRead: (marker) =>
      `SELECT count(*) AS ${marker} FROM generate_series(1, 100000) a, generate_series(1, 100000) b`,
    running: (marker) =>
      ids(
        `SELECT pid FROM pg_stat_activity
          WHERE backend_type = 'client backend' AND state = 'active' AND query LIKE $1 AND pid <> pg_backend_pid()`,
        [`%${marker}%`],
      ),
    async kill(id) {
      await connected;
      await admin.query("SELECT pg_terminate_backend($1)", [id]);
    },
    killedMessage: /terminating connection due to administrator command \(57P01\)/,
    close: () => admin.end(),
  };
}

function mariadb(): Server {
  const admin = mysql.createConnection(MARIADB_URL);
  const ids = async (sql: string, values: unknown[] = []): Promise<number[]> => {
    const [rows] = await (await admin).query(sql, values);
    return (rows as { id: number }[]).map((r) => Number(r.id));
  };
  return {
    driver: "mysql",
    port: 3306,
    url: (port) => `mysql://root@127.0.0.1:${port}/test`,
    longRead: (marker) => `SELECT COUNT(*) AS ${marker} FROM seq_1_to_100000 a, seq_1_to_100000 b`,
    running: (marker) =>
      ids(
        "SELECT ID AS id FROM information_schema.PROCESSLIST WHERE COMMAND = 'Query' AND INFO LIKE ? AND ID <> CONNECTION_ID()",
        [`%${marker}%`],
      ),
    async kill(id) {
      await (await admin).query(`KILL CONNECTION ${Number(id)}`);
    },
    killedMessage: /Connection lost|Connection was killed/,
    close: async () => (await admin).end(),
  };
}

async function until<T>(probe: () => Promise<T | undefined>, ms = 10_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) assert.fail("condition not reached in time");
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

const first = (ids: number[]): number | undefined => ids[0];

async function runsNextJob(driver: Driver): Promise<void> {
  const next = await driver.execute("SELECT 1 AS one", {
    operation: "read",
    rowCap: 1,
    statementTimeoutMs: 5000,
  });
  assert.deepEqual(next.rows, [[1]]);
}

function assertLostConnection(err: unknown, message: RegExp): true {
  assert.ok(err instanceof DbwardError, String(err));
  assert.equal(err.code, "execution.failed");
  assert.match(err.message, message);
  assert.ok(isConnectionFailure(err), "marked as a lost connection");
  return true;
}

for (const make of [postgres, mariadb]) {
  const server = make();
  describe(`${server.driver}: a connection lost under the driver`, () => {
    const idleErrors: Error[] = [];
    let cuttable: TcpRelay;
    let driver: Driver;
    before(async () => {
      cuttable = await startTcpRelay(server.port);
      driver = createDriver(testDatabase(server.driver, server.url(cuttable.port)), (err) =>
        idleErrors.push(err),
      );
    });
    after(async () => {
      await driver.close();
      await cuttable.close();
      await server.close();
    });

    test("a connection killed mid-statement fails the job at once with the server's error", async () => {
      const started = Date.now();
      const running = driver.execute(server.longRead(`killed_${RUN}`), {
        operation: "read",
        rowCap: 1,
        statementTimeoutMs: 60_000,
      });
      running.catch(() => undefined);
      await server.kill(await until(async () => first(await server.running(`killed_${RUN}`))));
      await assert.rejects(running, (err) => assertLostConnection(err, server.killedMessage));
      assert.ok(Date.now() - started < 10_000, "failed when the connection died, not at its timeout");
      await runsNextJob(driver);
    });

    test("a TCP connection cut mid-statement fails the job with the connection's error", async () => {
      const running = driver.execute(server.longRead(`cut_${RUN}`), {
        operation: "read",
        rowCap: 1,
        statementTimeoutMs: 60_000,
      });
      running.catch(() => undefined);
      const id = await until(async () => first(await server.running(`cut_${RUN}`)));
      cuttable.cut();
      await assert.rejects(running, (err) =>
        assertLostConnection(err, /ECONNRESET|Connection terminated unexpectedly|Connection lost/),
      );
      await server.kill(id).catch(() => undefined);
      await runsNextJob(driver);
    });

    test("idle pooled connections cut on the wire are reported as idle errors, and the next job runs", async () => {
      // Jobs one at a time: the pool holds one idle connection afterwards.
      await runsNextJob(driver);
      const before = idleErrors.length;
      cuttable.cut();
      const reported = await until(async () => idleErrors[before]);
      // In the form a job would have failed with, so the health shows the database's own words.
      assertLostConnection(reported, /ECONNRESET|Connection terminated unexpectedly|Connection lost/);
      await runsNextJob(driver);
    });
  });
}

describe("sqlite: a file that cannot be opened", () => {
  test("fails the job as a lost connection, so the database is degraded and probed", async (t) => {
    const driver = createDriver(testDatabase("sqlite", join(tempDir(t), "gone.db")), () => undefined);
    await assert.rejects(
      driver.execute("SELECT 1", { operation: "read", rowCap: 1, statementTimeoutMs: 1000 }),
      (err) => assertLostConnection(err, /unable to open database file/),
    );
  });
});
