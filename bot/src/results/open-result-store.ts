/**
 * Which result store the bot uses (docs/results.md): with the state on PostgreSQL and no
 * `results.dir`, the rows go to PostgreSQL too, so several instances need no shared file system;
 * otherwise files under `results.dir` (default `<data dir>/results`), as with SQLite state. A
 * configured `results.dir` always wins: an installation that moved its state keeps its files.
 */
import { storeEngine } from "../store/open-state-store.ts";
import type { Store } from "../store/open-store.ts";
import { createFileResultStore } from "./file-result-store.ts";
import { createPostgresResultStore } from "./postgres-result-store.ts";
import type { ResultStore } from "./result-store.ts";

/** `dir` is `results.dir` as configured; `defaultDir` the directory used when it is not set. */
export function openResultStore(store: Store, dir: string | undefined, defaultDir: string): ResultStore {
  if (dir === undefined && storeEngine(store) === "postgres") return createPostgresResultStore(store);
  return createFileResultStore(dir ?? defaultDir, store);
}
