/** Which result store the bot picks: files beside SQLite state, PostgreSQL beside PostgreSQL state unless results.dir says otherwise. */
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { dropStateDatabase, ensureStateDatabase } from "../../../test/support/postgres-state.ts";
import { openPostgresStore } from "../store/open-postgres-store.ts";
import { openStore, type Store } from "../store/open-store.ts";
import { openResultStore } from "./open-result-store.ts";

const CHUNK = Buffer.from("[1]\n");

describe("choosing the result store", () => {
  const key = `open-result-store-${process.pid}`;
  const dir = mkdtempSync(join(tmpdir(), "dbward-open-results-"));
  let sqlite: Store;
  let postgres: Store;
  before(async () => {
    sqlite = openStore(dir);
    await dropStateDatabase(key);
    postgres = await openPostgresStore({
      url: await ensureStateDatabase(key),
      poolSize: 2,
      onIdleError: () => undefined,
    });
  });
  after(async () => {
    await sqlite.destroy();
    await postgres.destroy();
    await dropStateDatabase(key);
    rmSync(dir, { recursive: true, force: true });
  });

  const rowsIn = async (store: Store): Promise<number> =>
    (await store.selectFrom("result_chunks").select("seq").execute()).length;

  test("keeps SQLite state's results in files under the default directory", async () => {
    const files = join(dir, "sqlite-results");
    await openResultStore(sqlite, undefined, files).putChunk("job-1", 0, 1, CHUNK);
    assert.deepEqual(readdirSync(files), ["job-1"]);
    assert.equal(await rowsIn(sqlite), 0);
  });

  test("keeps PostgreSQL state's results in its result_chunks table, creating no directory", async () => {
    const files = join(dir, "pg-default");
    await openResultStore(postgres, undefined, files).putChunk("job-2", 0, 1, CHUNK);
    assert.equal(await rowsIn(postgres), 1);
    assert.equal(existsSync(files), false);
  });

  test("keeps PostgreSQL state's results in files when results.dir is set", async () => {
    const files = join(dir, "pg-configured");
    await openResultStore(postgres, files, join(dir, "unused")).putChunk("job-3", 0, 1, CHUNK);
    assert.deepEqual(readdirSync(files), ["job-3"]);
    assert.equal(await rowsIn(postgres), 1, "still only job-2's row");
  });
});
