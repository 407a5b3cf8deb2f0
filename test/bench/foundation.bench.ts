/**
 * Foundation figures: time from the final approval to the agent starting the query (200 requests,
 * real bot, real agent, real PostgreSQL), audit appends per second, and chain verification speed
 * over 100,000 events.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createDriver, type DatabaseConfig } from "@dbward/agent";
import { openStore, verifyAuditStore } from "@dbward/bot";
import { ChainVerifier, chainEvent, type AuditEvent, type RequestView } from "@dbward/shared";
import { appendAudit } from "../../bot/src/audit/audit-log.ts";
import { inTransaction } from "../../bot/src/store/in-transaction.ts";
import mysql from "mysql2/promise";
import { MARIADB_URL, startTestAgent } from "../support/agent-harness.ts";
import { TEST_CONFIG, startBotHarness } from "../support/bot-harness.ts";
import { waitForStatus } from "../support/wait.ts";
import { fmt, summary } from "./stats.ts";

const REQUESTS = Number(process.env.BENCH_REQUESTS ?? 200);

async function approvalToStart(): Promise<void> {
  const maria = await mysql.createConnection(MARIADB_URL);
  const table = `dbward_bench_${process.pid}`;
  await maria.query(`CREATE TABLE ${table} (id int PRIMARY KEY, n int NOT NULL)`);
  // One requester creates every request: lift the per-user creation limit for the measurement.
  const h = await startBotHarness(
    `${TEST_CONFIG}\nhttp:\n  rate_limits:\n    request_create: { burst: 100000, per_minute: 100000 }\n`,
  );
  // The agent's real driver, with a stopwatch at the moment the query is handed to it.
  const started = new Map<string, number>();
  const agent = await startTestAgent(h, "agent-1", undefined, {
    driverFactory: (db: DatabaseConfig) => {
      const real = createDriver(db, () => undefined);
      return {
        stream: (sql, options, sink) => {
          started.set(sql, performance.now());
          return real.stream(sql, options, sink);
        },
        execute: (sql, options) => real.execute(sql, options),
        close: () => real.close(),
      };
    },
  });
  const alice = await h.tokenFor("alice");
  const bob = await h.tokenFor("bob");
  const latencies: number[] = [];
  for (let i = 0; i < REQUESTS; i++) {
    const sql = `UPDATE ${table} SET n = n + 1 WHERE id = ${i}`;
    const created = (
      await h.call(alice, "POST", "/api/requests", {
        database: "legacy",
        environment: "production",
        sql,
        reason: "bench",
      })
    ).body as RequestView;
    const t0 = performance.now();
    await h.call(bob, "POST", `/api/requests/${created.id}/approve`, {});
    await waitForStatus(h, created.id, "succeeded", 10_000);
    const t1 = started.get(sql);
    if (t1 !== undefined) latencies.push(t1 - t0);
  }
  await agent.stop();
  await h.stop();
  await maria.query(`DROP TABLE ${table}`);
  await maria.end();
  const s = summary(latencies);
  console.log(
    `final approval → agent starts the query (MariaDB UPDATE): n=${s.n} median ${fmt(s.p50)} ms, p99 ${fmt(s.p99)} ms, max ${fmt(s.max)} ms`,
  );
}

async function auditAppends(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "dbward-bench-"));
  const store = openStore(dir);
  const n = 5000;
  const t0 = performance.now();
  for (let i = 0; i < n; i++) {
    await inTransaction(store, (tx) =>
      appendAudit(
        tx,
        {
          actor: "user:bench",
          action: "bench.append",
          target: `request:${i}`,
          outcome: "success",
          details: { i },
        },
        new Date(),
      ),
    );
  }
  const secs = (performance.now() - t0) / 1000;
  console.log(`audit appends (one transaction each, SQLite WAL): ${fmt(n / secs, 0)} per second`);
  const tv = performance.now();
  const verdict = await verifyAuditStore(store);
  console.log(
    `chain verification from the store: ${verdict.ok ? verdict.count : "BROKEN"} events at ${fmt((n / (performance.now() - tv)) * 1000, 0)} events/s`,
  );
  await store.destroy();
  rmSync(dir, { recursive: true, force: true });
}

function chainVerification(): void {
  const n = 100_000;
  const events: AuditEvent[] = [];
  let last: AuditEvent | undefined;
  for (let i = 0; i < n; i++) {
    last = chainEvent(
      last,
      {
        actor: "user:alice",
        action: "request.created",
        target: `request:${i}`,
        outcome: "success",
        details: { database: "shop", environment: "production", sql_sha256: "ab".repeat(32) },
      },
      new Date(1_800_000_000_000 + i),
    );
    events.push(last);
  }
  const t0 = performance.now();
  const v = new ChainVerifier();
  for (const e of events) v.push(e);
  const ms = performance.now() - t0;
  const verdict = v.verdict();
  console.log(
    `chain verification in memory: ${verdict.ok ? verdict.count : "BROKEN"} events in ${fmt(ms, 0)} ms = ${fmt((n / ms) * 1000, 0)} events/s`,
  );
}

await approvalToStart();
await auditAppends();
chainVerification();
