/**
 * `dbward backup --data-dir DIR --out FILE`: a consistent copy of the bot's state store while the
 * bot runs, through SQLite's online backup API (better-sqlite3 `db.backup()`), never a file copy
 * (a copied WAL database can be torn). The copy is made mode 0600 — it holds token hashes, SQL
 * and results — switched out of WAL so it is one self-contained file, and then its audit chain is
 * verified exactly as `dbward audit verify` would: a backup that does not verify is reported as
 * broken (exit 6) and kept for inspection.
 *
 * The signing key is deliberately not in the copy (docs/operations.md: back it up separately).
 */
import { chmodSync, closeSync, existsSync, openSync, rmSync } from "node:fs";
import { join, resolve } from "node:path";
import { STORE_FILE, openStoreFile, verifyAuditStore } from "@dbward/bot";
import Database from "better-sqlite3";
import { CliError } from "../cli-error.ts";
import { EXIT } from "../exit-codes.ts";
import type { Output } from "../output.ts";

export interface BackupArgs {
  readonly dataDir: string;
  readonly out: string;
  readonly json: boolean;
}

export async function runBackup(out: Output, args: BackupArgs): Promise<void> {
  const source = join(resolve(args.dataDir), STORE_FILE);
  const target = resolve(args.out);
  if (!existsSync(source))
    throw new CliError(
      `no dbward state at ${source}; point --data-dir at the bot's data directory`,
      EXIT.usage,
    );
  try {
    // Created empty with 0600 first, so the copy is never readable by others, not even briefly.
    closeSync(openSync(target, "wx", 0o600));
  } catch (err) {
    const exists = (err as NodeJS.ErrnoException).code === "EEXIST";
    throw new CliError(
      exists
        ? `${target} already exists; choose a new file name`
        : `cannot create ${target}: ${(err as Error).message}`,
      EXIT.usage,
    );
  }
  try {
    await copyOnline(source, target);
  } catch (err) {
    rmSync(target, { force: true });
    throw new CliError(`backup failed: ${(err as Error).message}`, EXIT.failure);
  }
  chmodSync(target, 0o600);
  const store = openStoreFile(target, { readonly: true });
  let verdict;
  try {
    verdict = await verifyAuditStore(store);
  } finally {
    await store.destroy();
  }
  if (args.json) out.print(JSON.stringify({ file: target, ...verdict }));
  if (!verdict.ok) {
    throw new CliError(
      `backup written to ${target}, but its audit chain is BROKEN at sequence ${verdict.seq}: ${verdict.reason}`,
      EXIT.auditBroken,
    );
  }
  if (!args.json) {
    out.print(`backup written to ${target} (mode 0600): audit chain verified, ${verdict.count} events`);
    out.print(
      `the signing key is not in it: back up ${join(resolve(args.dataDir), "signing-key.json")} separately`,
    );
  }
}

async function copyOnline(source: string, target: string): Promise<void> {
  const live = new Database(source, { readonly: true, fileMustExist: true });
  try {
    await live.backup(target);
  } finally {
    live.close();
  }
  const copy = new Database(target, { fileMustExist: true });
  try {
    copy.pragma("journal_mode = DELETE");
    const check = copy.pragma("integrity_check", { simple: true });
    if (check !== "ok") throw new Error(`integrity check of the copy: ${String(check)}`);
  } finally {
    copy.close();
  }
}
