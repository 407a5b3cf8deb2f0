/**
 * Cancellation on the real servers: an abort while a statement runs must stop it on the server
 * itself (seen from a second connection in pg_stat_activity / the process list), roll back, and
 * leave the pool able to run the next job. Also the streaming contract: rows come in batches and
 * a read stops fetching when the sink has had enough.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, describe, test } from "node:test";
import mysql from "mysql2/promise";
import pg from "pg";
import type { DbwardError } from "@dbward/shared";
import { MARIADB_URL, PG_URL, testDatabase } from "../../../test/support/agent/unit-helpers.ts";
import { BATCH_ROWS, type Driver, type RowSink } from "./driver.ts";
import { createDriver } from "./registry.ts";

// Unique per run: the activity views list every session on the server, so a fixed marker would
// count another run's sleep (a second checkout, or the suite run twice at once).
const MARKER = `slept_cancel_${randomBytes(4).toString("hex")}`;

interface Server {
  readonly driver: "postgres" | "mysql";
  readonly url: string;
  readonly sleep: string;
  readonly series: (n: number) => string;
  /** Statements now running on the server whose text contains `marker`. */
  running(marker: string): Promise<number>;
  close(): Promise<void>;
}

function postgres(): Server {
  const client = new pg.Client(PG_URL);
  const connected = client.connect();
  return {
    driver: "postgres",
    url: PG_URL,
    sleep: `SELECT pg_sleep(60) AS ${MARKER}`,
    series: (n) => `SELECT g AS n FROM generate_series(1, ${n}) AS g`,
    async running(marker) {
      await connected;
      const r = await client.query(
        "SELECT count(*)::int AS n FROM pg_stat_activity WHERE state = 'active' AND query LIKE $1 AND pid <> pg_backend_pid()",
        [`%${marker}%`],
      );
      return (r.rows[0] as { n: number }).n;
    },
    close: () => client.end(),
  };
}

function mariadb(): Server {
  const conn = mysql.createConnection(MARIADB_URL);
  return {
    driver: "mysql",
    url: MARIADB_URL,
    sleep: `SELECT SLEEP(60) AS ${MARKER}`,
    series: (n) => `SELECT seq AS n FROM seq_1_to_${n}`,
    async running(marker) {
      const [rows] = await (
        await conn
      ).query(
        "SELECT COUNT(*) AS n FROM information_schema.PROCESSLIST WHERE COMMAND = 'Query' AND INFO LIKE ? AND ID <> CONNECTION_ID()",
        [`%${marker}%`],
      );
      return Number((rows as { n: number }[])[0]?.n);
    },
    close: async () => (await conn).end(),
  };
}

async function until(condition: () => Promise<boolean>, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await condition())) {
    if (Date.now() > deadline) assert.fail("condition not reached in time");
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

for (const make of [postgres, mariadb]) {
  const server = make();
  describe(`${server.driver}: cancel and streaming on the server`, () => {
    const driver: Driver = createDriver(testDatabase(server.driver, server.url), (err) => assert.fail(err));
    after(async () => {
      await driver.close();
      await server.close();
    });

    test("an abort stops a running statement on the server and reports execution.cancelled", async () => {
      const abort = new AbortController();
      const running = driver.execute(server.sleep, {
        operation: "read",
        rowCap: 10,
        statementTimeoutMs: 120_000,
        signal: abort.signal,
      });
      await until(async () => (await server.running(MARKER)) === 1);
      abort.abort("cancelled");
      await assert.rejects(running, (err: DbwardError) => {
        assert.equal(err.code, "execution.cancelled");
        return true;
      });
      await until(async () => (await server.running(MARKER)) === 0);
    });

    test("after a cancel the pool runs the next job on the same database", async () => {
      for (let i = 0; i < 6; i += 1) {
        const result = await driver.execute("SELECT 1 AS one", {
          operation: "read",
          rowCap: 1,
          statementTimeoutMs: 5000,
        });
        assert.deepEqual(result.rows, [[1]]);
      }
    });

    test("hands rows to the sink in batches, waiting for it, and stops a read it has had enough of", async () => {
      const batches: number[] = [];
      const sink: RowSink = {
        columns: (names) => assert.deepEqual(names, ["n"]),
        rows: async (batch) => {
          batches.push(batch.length);
          await new Promise((resolve) => setTimeout(resolve, 5));
          return batches.length < 2;
        },
      };
      await driver.stream(
        server.series(10 * BATCH_ROWS),
        { operation: "read", rowCap: 1, statementTimeoutMs: 10_000 },
        sink,
      );
      assert.deepEqual(batches, [BATCH_ROWS, BATCH_ROWS]);
    });

    test("an abort while the sink holds a batch ends the read as cancelled, and the pool goes on", async () => {
      const abort = new AbortController();
      let batches = 0;
      const sink: RowSink = {
        columns: () => undefined,
        rows: async () => {
          batches += 1;
          if (batches === 2) abort.abort("cancelled");
          await new Promise((resolve) => setTimeout(resolve, 5));
          return true;
        },
      };
      await assert.rejects(
        driver.stream(
          server.series(20 * BATCH_ROWS),
          { operation: "read", rowCap: 1, statementTimeoutMs: 10_000, signal: abort.signal },
          sink,
        ),
        (err: DbwardError) => err.code === "execution.cancelled",
      );
      assert.ok(batches < 20, `${batches} batches reached the sink`);
      const next = await driver.execute("SELECT 1 AS one", {
        operation: "read",
        rowCap: 1,
        statementTimeoutMs: 5000,
      });
      assert.deepEqual(next.rows, [[1]]);
    });
  });
}
