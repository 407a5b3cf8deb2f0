/**
 * `dbward backup` while the bot runs and writes, and the restore check the docs prescribe:
 * put the copy in a data directory and run `dbward audit verify` on it (docs/operations.md).
 */
import assert from "node:assert/strict";
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import Database from "better-sqlite3";
import { EXIT } from "../cli/src/exit-codes.ts";
import { main } from "../cli/src/main.ts";
import { startBotHarness, type BotHarness } from "./support/bot-harness.ts";
import { captureOutput } from "./support/capture-output.ts";

describe("dbward backup", () => {
  const dir = mkdtempSync(join(tmpdir(), "dbward-backup-"));
  let h: BotHarness;
  let alice: string;
  before(async () => {
    h = await startBotHarness();
    alice = await h.tokenFor("alice");
  });
  after(async () => {
    await h.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const run = async (args: string[]) => {
    const out = captureOutput();
    const code = await main(args, {}, out);
    return { code, text: out.stdout.join("\n"), err: out.stderr.join("\n") };
  };
  const createSome = async (count: number) => {
    for (let i = 0; i < count; i++) {
      const res = await h.call(alice, "POST", "/api/requests", {
        database: "shop",
        environment: "staging",
        sql: `SELECT ${i}`,
        reason: "backup under load",
      });
      assert.equal(res.status, 201);
    }
  };

  test("copies the live store while requests are being written, mode 0600, and verifies the copy", async () => {
    const out = join(dir, "live.sqlite");
    const [, backup] = await Promise.all([
      createSome(10),
      run(["backup", "--data-dir", join(h.dataDir, "bot"), "--out", out]),
    ]);
    assert.equal(backup.code, EXIT.ok, backup.err);
    assert.match(
      backup.text,
      /backup written to .*live\.sqlite \(mode 0600\): audit chain verified, \d+ events/,
    );
    assert.match(backup.text, /the signing key is not in it/);
    assert.equal(statSync(out).mode & 0o777, 0o600);
    assert.ok(!existsSync(`${out}-wal`), "the copy is one self-contained file");
  });

  test("the restore check: the copy in a fresh data directory passes dbward audit verify and holds the requests", async () => {
    await createSome(3);
    const out = join(dir, "restore-me.sqlite");
    assert.equal((await run(["backup", "--data-dir", join(h.dataDir, "bot"), "--out", out])).code, EXIT.ok);
    const restored = join(dir, "restored", "bot");
    mkdirSync(restored, { recursive: true, mode: 0o700 });
    copyFileSync(out, join(restored, "dbward.sqlite"));
    const verify = await run(["audit", "verify", "--data-dir", restored]);
    assert.equal(verify.code, EXIT.ok, verify.err);
    assert.match(verify.text, /audit chain verified: \d+ events/);
    const db = new Database(join(restored, "dbward.sqlite"), { readonly: true });
    const live = new Database(join(h.dataDir, "bot", "dbward.sqlite"), { readonly: true });
    try {
      const count = (d: Database.Database) =>
        (d.prepare("SELECT COUNT(*) AS n FROM requests").get() as { n: number }).n;
      assert.equal(count(db), count(live));
    } finally {
      db.close();
      live.close();
    }
  });

  test("a restored copy that was edited fails dbward audit verify, naming the sequence", async () => {
    const restored = join(dir, "tampered", "bot");
    mkdirSync(restored, { recursive: true, mode: 0o700 });
    copyFileSync(join(dir, "restore-me.sqlite"), join(restored, "dbward.sqlite"));
    const db = new Database(join(restored, "dbward.sqlite"));
    db.prepare("UPDATE audit_events SET actor = 'user:mallory' WHERE seq = 3").run();
    db.close();
    const verify = await run(["audit", "verify", "--data-dir", restored]);
    assert.equal(verify.code, EXIT.auditBroken);
    assert.match(verify.err, /audit chain BROKEN at sequence 3/);
  });

  test("a backup of a store whose chain is already broken exits 6 and keeps the copy for inspection", async () => {
    const source = join(dir, "broken-source");
    mkdirSync(source, { mode: 0o700 });
    copyFileSync(join(dir, "restore-me.sqlite"), join(source, "dbward.sqlite"));
    const db = new Database(join(source, "dbward.sqlite"));
    db.prepare("DELETE FROM audit_events WHERE seq = 2").run();
    db.close();
    const out = join(dir, "broken-copy.sqlite");
    const r = await run(["backup", "--data-dir", source, "--out", out]);
    assert.equal(r.code, EXIT.auditBroken);
    assert.match(r.err, /its audit chain is BROKEN at sequence 3: sequence_gap/);
    assert.ok(existsSync(out));
  });

  test("refuses to overwrite an existing file", async () => {
    const out = join(dir, "exists.sqlite");
    writeFileSync(out, "keep me");
    const r = await run(["backup", "--data-dir", join(h.dataDir, "bot"), "--out", out]);
    assert.equal(r.code, EXIT.usage);
    assert.match(r.err, /already exists; choose a new file name/);
  });

  test("a directory without a state store is a usage error that says where it looked", async () => {
    const r = await run(["backup", "--data-dir", join(dir, "nothing"), "--out", join(dir, "x.sqlite")]);
    assert.equal(r.code, EXIT.usage);
    assert.match(r.err, /no dbward state at .*nothing/);
    assert.ok(!existsSync(join(dir, "x.sqlite")));
  });
});
