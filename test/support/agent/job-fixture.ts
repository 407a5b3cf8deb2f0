/**
 * Used by the job runner's tests only: a SQLite database with three configured databases over it
 * (app: read+write, reports: read, writer: write), a key pinned in the config, a ledger in a
 * temporary directory, an outcome journal beside it, and a record of every statement that reached a driver.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import Database from "better-sqlite3";
import type { ClaimResponse, JobResultBody } from "@dbward/shared";
import type { Driver } from "../../../agent/src/drivers/driver.ts";
import { createDriver, createDriverRegistry } from "../../../agent/src/drivers/registry.ts";
import { runJob, type JobRunnerDeps } from "../../../agent/src/job-runner.ts";
import { openLedger } from "../../../agent/src/ledger.ts";
import { openOutcomeJournal } from "../../../agent/src/outcome-journal.ts";
import {
  fixedClock,
  generateSigningKey,
  signedClaim,
  silentLogger,
  tempDir,
  testConfig,
  type JobSpec,
} from "./unit-helpers.ts";

type Context = { after(fn: () => void): void };

export type JobFixture = ReturnType<typeof jobFixture>;

function createAppDatabase(file: string): void {
  const db = new Database(file);
  db.exec(
    "CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT); INSERT INTO items VALUES (1, 'a'), (2, 'b'), (3, 'c')",
  );
  db.close();
}

/** Real drivers, wrapped by `wrap`, recording every SQL text that reaches one. */
function recordingDrivers(executed: string[], wrap: (inner: Driver) => Driver) {
  return createDriverRegistry((cfg) => {
    const inner = wrap(createDriver(cfg, () => undefined));
    return {
      stream: (sql, options, sink) => {
        executed.push(sql);
        return inner.stream(sql, options, sink);
      },
      execute: (sql, options) => inner.execute(sql, options),
      close: () => inner.close(),
    };
  });
}

export function jobFixture(t: Context, wrap: (inner: Driver) => Driver = (d) => d) {
  const dir = tempDir(t);
  const file = join(dir, "app.db");
  createAppDatabase(file);
  const key = generateSigningKey();
  const config = testConfig(
    join(dir, "data"),
    [key],
    [
      { name: "app", environment: "production", driver: "sqlite", url: file, operations: ["read", "write"] },
      { name: "reports", environment: "production", driver: "sqlite", url: file, operations: ["read"] },
      { name: "writer", environment: "production", driver: "sqlite", url: file, operations: ["write"] },
    ],
  );
  const executed: string[] = [];
  const drivers = recordingDrivers(executed, wrap);
  const clock = fixedClock();
  let ledger = openLedger(config.dataDir);
  const journal = openOutcomeJournal(config.dataDir, () => clock.now());
  t.after(() => {
    ledger.close();
    journal.close();
  });
  const deps = (): JobRunnerDeps => ({ config, ledger, journal, drivers, clock, logger: silentLogger });
  const reopenLedger = (): void => {
    ledger.close();
    ledger = openLedger(config.dataDir);
  };
  const base = { sql: "SELECT id, name FROM items ORDER BY id", database: "app", environment: "production" };
  const claim = (spec: Partial<JobSpec> = {}, overrides: Partial<ClaimResponse> = {}): ClaimResponse =>
    signedClaim(key, { ...base, operation: "read", ...spec }, overrides);
  /** Runs a job the way the agent does, keeping the rows it sent to the bot. */
  const run = async (c: ClaimResponse, signal = new AbortController().signal): Promise<RunOutcome> => {
    const chunks: string[] = [];
    const body = await runJob(c, deps(), {
      signal,
      sendChunk: (_seq, ndjson) => {
        chunks.push(ndjson.toString("utf8"));
        return Promise.resolve({ cancel: false });
      },
      onUploadStop: () => undefined,
    });
    const rows = chunks
      .join("")
      .split("\n")
      .filter((l) => l !== "")
      .map((l) => JSON.parse(l) as unknown[]);
    return { body, rows };
  };
  return {
    deps,
    claim,
    run,
    executed,
    clock,
    key,
    file,
    journal,
    reopenLedger,
    ledgerSize: () => ledger.size,
  };
}

export interface RunOutcome {
  readonly body: JobResultBody;
  readonly rows: unknown[][];
}

export function assertRefused(result: JobResultBody, code: string): void {
  assert.equal(result.outcome, "refused", JSON.stringify(result));
  assert.equal(result.error?.code, code, JSON.stringify(result));
  assert.equal(result.streamed, undefined);
}
