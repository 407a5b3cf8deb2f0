/**
 * The state store holds token hashes, the audit chain and every request's SQL: like the signing
 * key (SECURITY.md, operational hardening) its files are 0600 inside the 0700 data directory —
 * the database file and the `-wal` and `-shm` files SQLite makes beside it.
 */
import assert from "node:assert/strict";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { STORE_FILE, openStore } from "@dbward/bot";
import { startBotHarness } from "./support/bot-harness.ts";

const STATE_FILES = [STORE_FILE, `${STORE_FILE}-wal`, `${STORE_FILE}-shm`];

function modesIn(dir: string): Record<string, string> {
  return Object.fromEntries(
    STATE_FILES.map((f) => {
      const path = join(dir, f);
      return [f, existsSync(path) ? (statSync(path).mode & 0o777).toString(8) : "missing"];
    }),
  );
}

const ALL_0600 = Object.fromEntries(STATE_FILES.map((f) => [f, "600"]));

describe("state file modes", () => {
  const dirs: string[] = [];
  after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

  test("a bot's first start creates the state file, its -wal and its -shm with mode 0600", async () => {
    const previous = process.umask(0o022);
    try {
      const h = await startBotHarness();
      try {
        await h.tokenFor("alice");
        const dataDir = join(h.dataDir, "bot");
        assert.equal((statSync(dataDir).mode & 0o777).toString(8), "700");
        assert.deepEqual(modesIn(dataDir), ALL_0600);
      } finally {
        await h.stop();
      }
    } finally {
      process.umask(previous);
    }
  });

  test("a start on state files an older dbward left readable makes them 0600", async () => {
    const dir = mkdtempSync(join(tmpdir(), "dbward-modes-"));
    dirs.push(dir);
    const dataDir = join(dir, "bot");
    mkdirSync(dataDir, { mode: 0o700 });
    const old = openStore(dataDir);
    await old.selectFrom("schema_version").selectAll().execute();
    for (const f of STATE_FILES) if (existsSync(join(dataDir, f))) chmodSync(join(dataDir, f), 0o644);
    const h = await startBotHarness(undefined, { dataDir: dir });
    try {
      await h.tokenFor("alice");
      assert.deepEqual(modesIn(dataDir), ALL_0600);
    } finally {
      await h.stop();
      await old.destroy();
    }
  });
});
