/**
 * A dependency failing under us while nothing runs: on the real PostgreSQL and MariaDB, an idle
 * pooled connection killed from a second session (`pg_terminate_backend`, `KILL`) or cut on the
 * wire marks its database degraded at once, with the database's own error, before any job
 * fails on it; the process stays up; the database's health probes it under backoff and it is
 * healthy again as soon as a new connection answers, and the next job runs.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import mysql from "mysql2/promise";
import pg from "pg";
import { startTcpRelay, type TcpRelay } from "../../../test/support/tcp-relay.ts";
import { systemClock, type Clock } from "../clock.ts";
import type { DatabaseConfig } from "../config.ts";
import { createDatabaseHealth, type DatabaseHealth } from "../database-health.ts";
import { MARIADB_URL, PG_URL, silentLogger, testDatabase } from "../../../test/support/agent/unit-helpers.ts";
import { createDriver, createDriverRegistry, type DriverRegistry } from "./registry.ts";

const PROBE_BASE_MS = 100;

interface Server {
  readonly driver: "postgres" | "mysql";
  readonly port: number;
  url(port: number): string;
  /** The statement that names the server-side id of the connection it runs on. */
  readonly ownId: string;
  /** Ends a connection from a second session, the way an operator or a failover does. */
  kill(id: number): Promise<void>;
  /** What the health reports for a killed idle connection, at least. */
  readonly killedMessage: RegExp;
  close(): Promise<void>;
}

function postgres(): Server {
  const admin = new pg.Client(PG_URL);
  const connected = admin.connect();
  return {
    driver: "postgres",
    port: 5432,
    url: (port) => `postgres://postgres@127.0.0.1:${port}/test`,
    ownId: "SELECT pg_backend_pid() AS id",
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
  return {
    driver: "mysql",
    port: 3306,
    url: (port) => `mysql://root@127.0.0.1:${port}/test`,
    ownId: "SELECT CONNECTION_ID() AS id",
    async kill(id) {
      await (await admin).query(`KILL ${Number(id)}`);
    },
    killedMessage: /Connection lost: The server closed the connection|Connection was killed/,
    close: async () => (await admin).end(),
  };
}

async function until<T>(what: string, probe: () => T | undefined, ms = 10_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** The system clock, noting every wait the health makes between two probes. */
function recordingClock(): Clock & { readonly sleeps: number[] } {
  const sleeps: number[] = [];
  return {
    sleeps,
    now: () => systemClock.now(),
    sleep: (ms, signal) => {
      sleeps.push(ms);
      return systemClock.sleep(ms, signal);
    },
  };
}

for (const make of [postgres, mariadb]) {
  const server = make();
  describe(`${server.driver}: an idle connection that breaks`, () => {
    let relay: TcpRelay;
    let db: DatabaseConfig;
    let drivers: DriverRegistry;
    let clock: ReturnType<typeof recordingClock>;
    let health: DatabaseHealth;
    before(async () => {
      relay = await startTcpRelay(server.port);
      db = testDatabase(server.driver, server.url(relay.port));
      // As the agent builds them: the real drivers, their idle errors going to the health.
      drivers = createDriverRegistry(createDriver);
      clock = recordingClock();
      health = createDatabaseHealth({
        drivers,
        clock,
        random: () => 0,
        logger: silentLogger,
        probeBaseMs: PROBE_BASE_MS,
        probeMaxMs: PROBE_BASE_MS * 4,
      });
    });
    after(async () => {
      await health.stop();
      await drivers.closeAll();
      await relay.close();
      await server.close();
    });

    /** Runs one job; the pool keeps its one connection idle afterwards. Its server-side id. */
    async function idleConnection(): Promise<number> {
      const result = await drivers
        .get(db)
        .execute(server.ownId, { operation: "read", rowCap: 1, statementTimeoutMs: 5000 });
      const id = Number(result.rows[0]?.[0]);
      assert.ok(Number.isInteger(id) && id > 0, `a connection id, not ${JSON.stringify(result.rows)}`);
      return id;
    }

    /** Degraded with the database's error, then healthy again after a probe under backoff. */
    async function degradesAndRecovers(message: RegExp, waitsBefore: number): Promise<void> {
      const outage = await until("the database marked degraded", () => health.degraded()[0]);
      assert.equal(outage.database, db.name);
      assert.equal(outage.environment, db.environment);
      assert.match(outage.error, message);
      assert.ok(!Number.isNaN(Date.parse(outage.since)), "the outage says since when");
      await until("the database healthy again", () => (health.isDegraded(db) ? undefined : true));
      assert.deepEqual(health.degraded(), []);
      const waits = clock.sleeps.slice(waitsBefore);
      assert.ok(waits.length >= 1, "the health waited before it probed");
      // random() = 0: the first wait is half the base, the least the backoff ever waits.
      assert.ok((waits[0] ?? 0) >= PROBE_BASE_MS / 2, `waited ${waits[0]} ms before the first probe`);
    }

    test("a backend killed by the server while idle marks the database degraded with the server's error, then it recovers", async () => {
      const id = await idleConnection();
      assert.equal(health.isDegraded(db), false, "healthy while its connections are");
      const waits = clock.sleeps.length;
      await server.kill(id);
      await degradesAndRecovers(server.killedMessage, waits);
      assert.notEqual(await idleConnection(), id, "the next job runs on a new connection");
    });

    test("an idle connection cut on the wire marks the database degraded with the connection's error, then it recovers", async () => {
      await idleConnection();
      const waits = clock.sleeps.length;
      relay.cut();
      await degradesAndRecovers(/ECONNRESET|Connection terminated unexpectedly|Connection lost/, waits);
      await idleConnection();
    });

    test("several idle connections breaking at once make one outage and one series of probes", async () => {
      // Two jobs at the same time leave two idle connections in the pool.
      const [a, b] = await Promise.all([idleConnection(), idleConnection()]);
      assert.notEqual(a, b, "two connections");
      const waits = clock.sleeps.length;
      relay.cut();
      const outage = await until("the database marked degraded", () => health.degraded()[0]);
      // Sooner than the first probe (half the base with random() = 0): both errors are in by now.
      await new Promise((resolve) => setTimeout(resolve, PROBE_BASE_MS / 4));
      assert.deepEqual(health.degraded(), [outage], "one outage, with the first error");
      await until("the database healthy again", () => (health.isDegraded(db) ? undefined : true));
      assert.equal(clock.sleeps.length - waits, 1, "one probe, not one per broken connection");
      await idleConnection();
    });
  });
}
