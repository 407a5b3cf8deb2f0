/**
 * Foundation figures: time from the final approval to the agent starting the query (200 requests,
 * real bot, real agent, real MariaDB; BENCH_REQUESTS=0 leaves it out), audit appends per second,
 * and chain verification speed over 205,000 events (BENCH_AUDIT_EVENTS) — from the SQLite store,
 * in memory and from an NDJSON export — beside a plain JSON-encode + SHA-256 loop over the same
 * events in the same run, the limit verification can approach.
 */
import { createHash, hash } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createDriver, type DatabaseConfig } from "@dbward/agent";
import { listAudit, openStore, verifyAuditStore } from "@dbward/bot";
import {
  verifyChain,
  type AuditEvent,
  type AuditEventInput,
  type RequestView,
  type TrustedKeys,
} from "@dbward/shared";
import { exportAudit } from "../../bot/src/audit/audit-export.ts";
import { appendAudit } from "../../bot/src/audit/audit-log.ts";
import { verifyExport, verifyStoreWithItsCheckpoints } from "../../bot/src/audit/verify-export.ts";
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

const AUDIT_EVENTS = Number(process.env.BENCH_AUDIT_EVENTS ?? 200_000);
const APPENDS = 5000;
const ROUNDS = 5;
const SQL_SHA = "3f9a".repeat(16);

/** Events shaped like the bot's own: a request's life from creation to its result (~300 bytes hashed). */
function benchInput(i: number): AuditEventInput {
  const request = `request:${1000 + Math.floor(i / 5)}`;
  switch (i % 5) {
    case 0:
      return {
        actor: "user:alice",
        action: "request.created",
        target: request,
        outcome: "success",
        details: { database: "shop", environment: "production", operation: "write", sql_sha256: SQL_SHA },
      };
    case 1:
      return {
        actor: "user:bob",
        action: "request.approved",
        target: request,
        outcome: "success",
        details: { approver: "bob", final: true, step: 1, workflow: "production-writes" },
      };
    case 2:
      return {
        actor: "system",
        action: "request.dispatched",
        target: request,
        outcome: "success",
        details: { agent: "agent-1", expires_at: "2024-05-01T12:05:00.000Z", kid: "4be1a0c2d9e8f731" },
      };
    case 3:
      return {
        actor: "agent:agent-1",
        action: "request.claimed",
        target: request,
        outcome: "success",
        details: { agent: "agent-1", attempt: 1, lease_ms: 30_000, sql_sha256: SQL_SHA },
      };
    default:
      return {
        actor: "agent:agent-1",
        action: "request.finished",
        target: request,
        outcome: i % 50 === 4 ? "failure" : "success",
        details: { duration_ms: 40 + (i % 200), rows: i * 3, status: "succeeded", truncated: false },
      };
  }
}

/**
 * events/s of each of `runs` over `n` events. Every round times each once, in turn, so that a
 * machine busy with something else slows all of them alike; the ratio to the first (the plain
 * loop) is taken within each round, then the median over rounds.
 */
async function rounds(
  n: number,
  runs: Readonly<Record<string, () => unknown>>,
): Promise<Map<string, { rates: number[]; ratios: number[] }>> {
  const out = new Map(Object.keys(runs).map((k) => [k, { rates: [] as number[], ratios: [] as number[] }]));
  for (let r = 0; r < ROUNDS; r++) {
    let base = Number.NaN;
    for (const [label, work] of Object.entries(runs)) {
      const t0 = performance.now();
      await work();
      const perSecond = (n / (performance.now() - t0)) * 1000;
      if (Number.isNaN(base)) base = perSecond;
      out.get(label)?.rates.push(perSecond);
      out.get(label)?.ratios.push(perSecond / base);
    }
  }
  return out;
}

async function auditChain(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "dbward-bench-"));
  const store = openStore(dir);
  const T0 = Date.UTC(2024, 4, 1, 12, 0, 0);
  for (let from = 0; from < AUDIT_EVENTS; from += 1000) {
    await inTransaction(store, async (tx) => {
      for (let i = from; i < Math.min(from + 1000, AUDIT_EVENTS); i++)
        await appendAudit(tx, benchInput(i), new Date(T0 + i * 10));
    });
  }
  const appendStart = performance.now();
  for (let i = AUDIT_EVENTS; i < AUDIT_EVENTS + APPENDS; i++)
    await inTransaction(store, (tx) => appendAudit(tx, benchInput(i), new Date(T0 + i * 10)));
  const appendRate = (APPENDS / (performance.now() - appendStart)) * 1000;
  const n = AUDIT_EVENTS + APPENDS;

  // The same events, held in memory: as listed from the store, as an NDJSON export, and as the
  // bare tuples a plain encode-and-hash loop would see.
  const events: AuditEvent[] = [];
  for (let after = 0; ;) {
    const page = await listAudit(store, { afterSeq: after, limit: 10_000 });
    const last = page.at(-1);
    if (last === undefined) break;
    events.push(...page);
    after = last.seq;
  }
  const lines: string[] = [];
  for await (const line of exportAudit(store, { now: new Date() })) lines.push(line);
  const tuples = events.map((e) => ({
    v: 1,
    seq: e.seq,
    time: e.time,
    actor: e.actor,
    action: e.action,
    target: e.target,
    outcome: e.outcome,
    details: e.details,
    prev: e.prevHash,
  }));
  const bytes = tuples.reduce((sum, t) => sum + Buffer.byteLength(JSON.stringify(t)), 0) / tuples.length;
  const noKeys: TrustedKeys = { byKid: new Map(), anyKid: [] };

  let sink = "";
  const exported = async function* (): AsyncGenerator<string> {
    yield* lines;
  };
  const results = await rounds(n, {
    "plain loop: JSON.stringify + createHash(sha256)": () => {
      for (const t of tuples) sink = createHash("sha256").update(JSON.stringify(t)).digest("hex");
    },
    "plain loop: JSON.stringify + crypto.hash(sha256)": () => {
      for (const t of tuples) sink = hash("sha256", JSON.stringify(t), "hex");
    },
    "verification from the SQLite store (verifyAuditStore)": async () =>
      assertWhole(await verifyAuditStore(store), n),
    "… with its stored checkpoints (dbward audit verify)": async () =>
      assertWhole(await verifyStoreWithItsCheckpoints(store), n),
    "verification in memory (verifyChain)": () => assertWhole(verifyChain(events), n),
    "verification of an NDJSON export (verifyExport)": async () =>
      assertWhole(await verifyExport(exported(), noKeys), n),
  });
  if (sink.length !== 64) throw new Error("the plain loop hashed nothing");
  await store.destroy();
  rmSync(dir, { recursive: true, force: true });

  console.log(
    `audit chain: ${n} events of ${fmt(bytes, 0)} bytes hashed on average; medians of ${ROUNDS} rounds`,
  );
  console.log(
    `audit appends (one transaction each, SQLite WAL, onto ${AUDIT_EVENTS} events): ${fmt(appendRate, 0)} per second`,
  );
  for (const [label, { rates, ratios }] of results) {
    const k = rates.map((r) => fmt(r / 1000, 0)).join(", ");
    console.log(
      `${label.padEnd(56)} ${fmt(summary(rates).p50, 0).padStart(8)} events/s, ${fmt(summary(ratios).p50, 2)} × the plain loop (rounds: ${k} k)`,
    );
  }
}

function assertWhole(verdict: { readonly ok: boolean; readonly count?: number }, n: number): void {
  if (!verdict.ok || verdict.count !== n)
    throw new Error(`the bench chain did not verify: ${JSON.stringify(verdict)}`);
}

if (REQUESTS > 0) await approvalToStart();
await auditChain();
