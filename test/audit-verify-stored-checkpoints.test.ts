/**
 * `dbward audit verify --data-dir` checks the signed checkpoints stored in the state (SECURITY.md:
 * audit tampering): deleting the newest events back past a checkpoint is reported at the first
 * missing sequence, and an edited checkpoint is reported, without any file kept elsewhere.
 */
import assert from "node:assert/strict";
import { cpSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import Database from "better-sqlite3";
import type { SignedCheckpoint } from "@dbward/shared";
import { takeCheckpoint } from "../bot/src/audit/audit-checkpoints.ts";
import { EXIT } from "../cli/src/exit-codes.ts";
import { main } from "../cli/src/main.ts";
import { captureOutput } from "./support/capture-output.ts";
import { TEST_CONFIG, startBotHarness } from "./support/bot-harness.ts";

describe("audit verify --data-dir against the stored checkpoints", () => {
  const dir = mkdtempSync(join(tmpdir(), "dbward-stored-checkpoints-"));
  let checkpoint: SignedCheckpoint;
  let head: number;
  let copies = 0;

  const verify = async (botDir: string) => {
    const out = captureOutput();
    const code = await main(["audit", "verify", "--data-dir", botDir], {}, out);
    return { code, stdout: out.stdout.join("\n"), stderr: out.stderr.join("\n") };
  };
  /** A copy of the stopped bot's data directory, changed by `edit` on its state file. */
  const copyWith = (edit: (db: Database.Database) => void): string => {
    const target = join(dir, `copy-${++copies}`);
    cpSync(join(dir, "bot"), target, { recursive: true });
    const db = new Database(join(target, "dbward.sqlite"));
    try {
      edit(db);
    } finally {
      db.close();
    }
    return target;
  };

  before(async () => {
    const h = await startBotHarness(TEST_CONFIG, { dataDir: dir });
    try {
      const alice = await h.tokenFor("alice");
      const create = (i: number) =>
        h.call(alice, "POST", "/api/requests", {
          database: "shop",
          environment: "staging",
          sql: `UPDATE orders SET note = 'n${i}' WHERE id = ${i}`,
          reason: "checkpoint test",
        });
      for (let i = 0; i < 2; i++) assert.equal((await create(i)).status, 201);
      const cp = await takeCheckpoint(h.bot.store, h.bot.checkpointSigner, new Date());
      assert.ok(cp !== undefined);
      checkpoint = cp;
      for (let i = 2; i < 4; i++) assert.equal((await create(i)).status, 201);
      const last = await h.bot.store
        .selectFrom("audit_events")
        .select("seq")
        .orderBy("seq", "desc")
        .executeTakeFirstOrThrow();
      head = last.seq;
      assert.ok(head > checkpoint.seq);
    } finally {
      await h.stop();
    }
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  test("verifies the untouched state and names its stored checkpoints", async () => {
    const r = await verify(join(dir, "bot"));
    assert.equal(r.code, 0, r.stderr);
    assert.match(
      r.stdout,
      new RegExp(`audit chain verified: ${head} events .*the newest at ${checkpoint.seq}`),
    );
  });

  test("reports the newest events deleted back past a checkpoint, naming the first missing sequence", async () => {
    const botDir = copyWith((db) =>
      db.prepare("DELETE FROM audit_events WHERE seq >= ?").run(checkpoint.seq),
    );
    const r = await verify(botDir);
    assert.equal(r.code, EXIT.auditBroken, r.stderr);
    assert.match(r.stderr, new RegExp(`BROKEN at sequence ${checkpoint.seq}: truncated`));
  });

  test("reports a stored checkpoint whose hash was changed", async () => {
    const botDir = copyWith((db) =>
      db.prepare("UPDATE audit_checkpoints SET hash = ? WHERE seq = ?").run("ab".repeat(32), checkpoint.seq),
    );
    const r = await verify(botDir);
    assert.equal(r.code, EXIT.auditBroken, r.stderr);
    assert.match(r.stderr, new RegExp(`BROKEN at sequence ${checkpoint.seq}: bad_signature`));
  });

  test("reports a stored checkpoint that names a key the bot never had", async () => {
    const botDir = copyWith((db) =>
      db.prepare("UPDATE audit_checkpoints SET kid = 'forged' WHERE seq = ?").run(checkpoint.seq),
    );
    const r = await verify(botDir);
    assert.equal(r.code, EXIT.auditBroken, r.stderr);
    assert.match(r.stderr, /unknown_key/);
  });
});
