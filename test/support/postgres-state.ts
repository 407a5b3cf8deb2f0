/**
 * A PostgreSQL database of its own for each bot state a test starts, on the machine's server
 * (127.0.0.1:5432, trust auth). `DBWARD_TEST_STATE=postgres` runs the harness-based suites on
 * PostgreSQL state instead of SQLite (scripts/test.sh's second pass): the same tests, the other
 * engine. The name is derived from the test's data directory, so a bot restarted on the same data
 * directory finds the same state, as it would with SQLite.
 */
import { createHash } from "node:crypto";
import { chmodSync, copyFileSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import pg from "pg";
import { KEY_FILE, loadOrCreateSigningKey } from "../../bot/src/keys/signing-key-file.ts";

export const TEST_PG_ADMIN_URL = "postgres://postgres@127.0.0.1:5432/test";
export const STATE_DB_PREFIX = "dbward_state_";

export function stateOnPostgres(): boolean {
  return process.env.DBWARD_TEST_STATE === "postgres";
}

export function stateDatabaseName(key: string): string {
  return STATE_DB_PREFIX + createHash("sha256").update(key).digest("hex").slice(0, 20);
}

export function stateUrl(name: string): string {
  return `postgres://postgres@127.0.0.1:5432/${name}`;
}

async function withAdmin<T>(work: (c: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: TEST_PG_ADMIN_URL });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

/** Creates the database for `key` unless it exists; returns its URL. */
export async function ensureStateDatabase(key: string): Promise<string> {
  const name = stateDatabaseName(key);
  await withAdmin(async (c) => {
    const found = await c.query("select 1 from pg_database where datname = $1", [name]);
    if (found.rowCount === 0) await c.query(`create database ${name}`);
  });
  return stateUrl(name);
}

/** Drops the database for `key`, ending whatever connections are still open to it. */
export async function dropStateDatabase(key: string): Promise<void> {
  const name = stateDatabaseName(key);
  await withAdmin((c) => c.query(`drop database if exists ${name} with (force)`));
}

/**
 * Gives every data directory one signing key, as instances sharing a state must have (docs/
 * deployment.md): generated in the first, copied (0600) into the others.
 */
export function shareSigningKey(dirs: readonly string[]): void {
  const [first, ...rest] = dirs;
  if (first === undefined) return;
  loadOrCreateSigningKey(first, new Date());
  for (const dir of rest) {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    copyFileSync(join(first, KEY_FILE), join(dir, KEY_FILE));
    chmodSync(join(dir, KEY_FILE), 0o600);
  }
}
