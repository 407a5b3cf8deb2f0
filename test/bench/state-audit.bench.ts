/**
 * Audit-chain appends per second with 1 and 3 concurrent writers (issue 14), on SQLite state and
 * on PostgreSQL state, each writer its own OS process (test/support/audit-appenders.ts) appending
 * one event per transaction exactly as the bot does: the write lock, the chain's head read, the
 * hash, the insert and the checkpoint count. The rate is taken from the events' own times (first
 * to last), so the appenders' start-up is not counted; the chain is verified afterwards.
 *
 * Baseline, in the same run and on the same PostgreSQL database: a plain loop of comparable rows
 * (same columns, random hashes), one `begin; insert; commit` each, with no chain; and the same
 * loop taking the state's write lock, so the lock and the chain's own cost can be told apart.
 * The baseline writers are connections of this process, not separate processes.
 *
 * BENCH_AUDIT_APPENDS (default 500) is the number each writer appends. Fresh SQLite directories
 * and fresh PostgreSQL databases for every figure, removed at the end. Prints figures; never fails
 * on a number.
 */
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openStore, verifyAuditStore } from "@dbward/bot";
import pg from "pg";
import { openPostgresStore } from "../../bot/src/store/open-postgres-store.ts";
import type { Store } from "../../bot/src/store/open-store.ts";
import { STATE_WRITE_LOCK } from "../../bot/src/store/postgres-locks.ts";
import { appendAtOnce } from "../support/audit-appenders.ts";
import { dropStateDatabase, ensureStateDatabase } from "../support/postgres-state.ts";
import { fmt } from "./stats.ts";

const APPENDS = Number(process.env.BENCH_AUDIT_APPENDS ?? 500);
const WRITERS = [1, 3] as const;
const labels = (n: number): string[] => Array.from({ length: n }, (_, i) => `w${i + 1}`);

interface Figure {
  readonly perSecond: number;
  readonly events: number;
  readonly chain: string;
}

/** Appends/s from the appended events' times, and whether the chain they form verifies. */
async function measure(store: Store): Promise<Figure> {
  const span = await store
    .selectFrom("audit_events")
    .where("action", "=", "test.appended")
    .select((eb) => [
      eb.fn.min("time").as("first"),
      eb.fn.max("time").as("last"),
      eb.fn.countAll<number>().as("n"),
    ])
    .executeTakeFirstOrThrow();
  const ms = Date.parse(String(span.last)) - Date.parse(String(span.first));
  const n = Number(span.n);
  const verdict = await verifyAuditStore(store);
  return {
    perSecond: ((n - 1) / ms) * 1000,
    events: n,
    chain: verdict.ok ? `verifies (${verdict.count} events)` : "BROKEN",
  };
}

async function appendWith(target: string, writers: number): Promise<void> {
  const exits = await appendAtOnce(target, APPENDS, labels(writers));
  for (const e of exits) if (e.code !== 0) throw new Error(`appender ${e.label} failed: ${e.stderr}`);
}

async function onSqlite(writers: number): Promise<Figure> {
  const dir = mkdtempSync(join(tmpdir(), "dbward-bench-audit-"));
  try {
    await appendWith(dir, writers);
    const store = openStore(dir);
    try {
      return await measure(store);
    } finally {
      await store.destroy();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function onPostgres<T>(key: string, work: (url: string) => Promise<T>): Promise<T> {
  const url = await ensureStateDatabase(key);
  try {
    return await work(url);
  } finally {
    await dropStateDatabase(key);
  }
}

const chainOnPostgres = (writers: number): Promise<Figure> =>
  onPostgres(`bench-audit-chain-${process.pid}-${writers}`, async (url) => {
    await appendWith(url, writers);
    const store = await openPostgresStore({ url, poolSize: 2, onIdleError: () => undefined });
    try {
      return await measure(store);
    } finally {
      await store.destroy();
    }
  });

/** The baseline: `writers` connections inserting audit-shaped rows with no chain, optionally under the write lock. */
const plainInserts = (writers: number, withLock: boolean): Promise<number> =>
  onPostgres(`bench-audit-plain-${process.pid}-${writers}-${withLock}`, async (url) => {
    const setup = new pg.Client(url);
    await setup.connect();
    await setup.query(`create table plain_events (
      seq bigserial primary key, time text not null, actor text not null, action text not null,
      target text not null, outcome text not null, details text not null,
      prev_hash text not null, hash text not null)`);
    await setup.end();
    const clients = await Promise.all(
      labels(writers).map(async () => {
        const c = new pg.Client(url);
        await c.connect();
        return c;
      }),
    );
    const t0 = performance.now();
    await Promise.all(
      clients.map(async (c, w) => {
        for (let i = 1; i <= APPENDS; i++) {
          await c.query("begin");
          if (withLock) await c.query("select pg_advisory_xact_lock($1)", [STATE_WRITE_LOCK]);
          await c.query(
            "insert into plain_events (time, actor, action, target, outcome, details, prev_hash, hash) values ($1, $2, $3, $4, $5, $6, $7, $8)",
            [
              new Date().toISOString(),
              `process:w${w + 1}`,
              "test.appended",
              `w${w + 1}:${i}`,
              "success",
              JSON.stringify({ i, label: `w${w + 1}`, pid: process.pid }),
              randomBytes(32).toString("hex"),
              randomBytes(32).toString("hex"),
            ],
          );
          await c.query("commit");
        }
      }),
    );
    const secs = (performance.now() - t0) / 1000;
    await Promise.all(clients.map((c) => c.end()));
    return (writers * APPENDS) / secs;
  });

console.log(
  `audit appends, one event per transaction, ${APPENDS} per writer; writers are separate processes`,
);
for (const writers of WRITERS) {
  const sqlite = await onSqlite(writers);
  const postgres = await chainOnPostgres(writers);
  const plain = await plainInserts(writers, false);
  const locked = await plainInserts(writers, true);
  console.log(`  ${writers} writer${writers === 1 ? " " : "s"}:`);
  console.log(
    `    SQLite state (WAL file)        ${fmt(sqlite.perSecond, 0).padStart(6)}/s, chain ${sqlite.chain}`,
  );
  console.log(
    `    PostgreSQL state               ${fmt(postgres.perSecond, 0).padStart(6)}/s, chain ${postgres.chain}`,
  );
  console.log(`    baseline: plain insert, no chain, no lock   ${fmt(plain, 0).padStart(6)}/s`);
  console.log(`    baseline: plain insert under the write lock ${fmt(locked, 0).padStart(6)}/s`);
}
