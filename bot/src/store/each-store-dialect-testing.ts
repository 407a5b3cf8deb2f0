/**
 * For store tests: runs a suite once on each engine the state store runs on, a fresh store each
 * (STYLE.md: one suite looping over dialects). SQLite is a file under the temp directory;
 * PostgreSQL a database of its own on the test server (test/support/postgres-state.ts).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe } from "node:test";
import { dropStateDatabase, ensureStateDatabase } from "../../../test/support/postgres-state.ts";
import { openPostgresStore } from "./open-postgres-store.ts";
import { openStore, type Store } from "./open-store.ts";

export type StoreDialect = "sqlite" | "postgres";

/** `suite(store)` under `describe("<name> (<dialect>)")`; `store()` is open from `before` to `after`. */
export function describeEachStoreDialect(name: string, suite: (store: () => Store) => void): void {
  for (const dialect of ["sqlite", "postgres"] as const) {
    describe(`${name} (${dialect})`, () => {
      const key = `${name.replace(/[^a-z0-9]+/gi, "-").toLowerCase()}-${process.pid}`;
      let opened: Store | undefined;
      let dir: string | undefined;
      before(async () => {
        if (dialect === "sqlite") {
          dir = mkdtempSync(join(tmpdir(), "dbward-store-"));
          opened = openStore(dir);
        } else {
          await dropStateDatabase(key);
          const url = await ensureStateDatabase(key);
          opened = await openPostgresStore({ url, poolSize: 2, onIdleError: () => undefined });
        }
      });
      after(async () => {
        await opened?.destroy();
        if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
        if (dialect === "postgres") await dropStateDatabase(key);
      });
      suite(() => {
        if (opened === undefined) throw new Error("the store opens in before()");
        return opened;
      });
    });
  }
}
