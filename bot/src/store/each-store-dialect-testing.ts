/**
 * For store tests: runs a suite once on each engine the state store runs on, a fresh store each
 * (STYLE.md: one suite looping over dialects). SQLite is a file under the temp directory;
 * PostgreSQL a database of its own on the test server (test/support/postgres-state.ts).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, afterEach, before, beforeEach, describe } from "node:test";
import { dropStateDatabase, ensureStateDatabase } from "../../../test/support/postgres-state.ts";
import { openPostgresStore } from "./open-postgres-store.ts";
import { openStore, type Store } from "./open-store.ts";

export type StoreDialect = "sqlite" | "postgres";

export interface StoreDialectContext {
  readonly dialect: StoreDialect;
  /**
   * Closes the store and opens the same state again (a restarted bot): the SQLite file or the
   * PostgreSQL database is kept; `store()` returns the new handle from then on.
   */
  reopen(): Promise<Store>;
}

export interface StoreDialectOptions {
  /** A fresh store for every test (beforeEach/afterEach) instead of one for the whole suite. */
  readonly freshStoreEachTest?: boolean;
}

/** `suite(store)` under `describe("<name> (<dialect>)")`; `store()` is open from `before` to `after`. */
export function describeEachStoreDialect(
  name: string,
  suite: (store: () => Store, context: StoreDialectContext) => void,
  options: StoreDialectOptions = {},
): void {
  for (const dialect of ["sqlite", "postgres"] as const) {
    describe(`${name} (${dialect})`, () => {
      const key = `${name.replace(/[^a-z0-9]+/gi, "-").toLowerCase()}-${process.pid}`;
      let opened: Store | undefined;
      let dir: string | undefined;
      let url: string | undefined;
      const open = async (): Promise<Store> => {
        if (dialect === "sqlite") {
          dir ??= mkdtempSync(join(tmpdir(), "dbward-store-"));
          return openStore(dir);
        }
        if (url === undefined) {
          await dropStateDatabase(key);
          url = await ensureStateDatabase(key);
        }
        return openPostgresStore({ url, poolSize: 2, onIdleError: () => undefined });
      };
      const close = async (): Promise<void> => {
        await opened?.destroy();
        opened = undefined;
        if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
        dir = undefined;
        if (url !== undefined) await dropStateDatabase(key);
        url = undefined;
      };
      const setUp = async (): Promise<void> => {
        opened = await open();
      };
      if (options.freshStoreEachTest === true) {
        beforeEach(setUp);
        afterEach(close);
      } else {
        before(setUp);
        after(close);
      }
      suite(
        () => {
          if (opened === undefined) throw new Error("the store opens in before()");
          return opened;
        },
        {
          dialect,
          async reopen() {
            await opened?.destroy();
            opened = await open();
            return opened;
          },
        },
      );
    });
  }
}
