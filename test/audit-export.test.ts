/**
 * The audit trail leaving the bot and coming back to an auditor: `GET /api/audit/export` and
 * `/api/audit/checkpoint` for users with audit.read, `dbward audit export|checkpoint` online and
 * offline, and `dbward audit verify` with only the public key — including the truncation a bare
 * chain cannot see (SECURITY.md: audit tampering).
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import Database from "better-sqlite3";
import { openStore } from "@dbward/bot";
import { base64url, type AuditListView, type SignedCheckpoint } from "@dbward/shared";
import { main } from "../cli/src/main.ts";
import { EXIT } from "../cli/src/exit-codes.ts";
import { captureOutput } from "./support/capture-output.ts";
import { TEST_CONFIG, startBotHarness, type BotHarness } from "./support/bot-harness.ts";

const CONFIG = `${TEST_CONFIG}\naudit:\n  checkpoint_every_events: 3\n`;

describe("audit export and offline verification", () => {
  const dir = mkdtempSync(join(tmpdir(), "dbward-audit-export-"));
  const botDir = join(dir, "bot");
  let h: BotHarness;
  let publicKey: string;
  let olga: string;
  let alice: string;
  let running = true;

  const cli = async (...argv: string[]): Promise<{ code: number; stdout: string[]; stderr: string }> => {
    const out = captureOutput();
    const code = await main(argv, {}, out);
    return { code, stdout: out.stdout, stderr: out.stderr.join("\n") };
  };
  const file = (name: string, text: string): string => {
    const path = join(dir, name);
    writeFileSync(path, text);
    return path;
  };

  before(async () => {
    h = await startBotHarness(CONFIG, { dataDir: dir });
    publicKey = base64url(h.bot.checkpointSigner.publicKey);
    olga = await h.tokenFor("olga");
    alice = await h.tokenFor("alice");
    for (let i = 0; i < 3; i++) {
      const res = await h.call(alice, "POST", "/api/requests", {
        database: "shop",
        environment: "staging",
        sql: `UPDATE orders SET note = 'n${i}' WHERE id = ${i}`,
        reason: "export test",
      });
      assert.equal(res.status, 201, JSON.stringify(res.body));
    }
  });
  after(async () => {
    if (running) await h.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  async function checkpointAfter(seq: number): Promise<SignedCheckpoint> {
    const deadline = Date.now() + 15_000;
    for (;;) {
      const res = await h.call(olga, "GET", "/api/audit/checkpoint");
      assert.equal(res.status, 200, JSON.stringify(res.body));
      const cp = (res.body as { checkpoint: SignedCheckpoint | null }).checkpoint;
      if (cp !== null && cp.seq >= seq) return cp;
      assert.ok(Date.now() < deadline, "the bot signed no checkpoint");
      await new Promise((r) => setTimeout(r, 25));
    }
  }

  test("streams NDJSON for a user with audit.read, audits the export, and it verifies offline", async () => {
    await checkpointAfter(5);
    const res = await fetch(`${h.url}/api/audit/export`, { headers: { authorization: `Bearer ${olga}` } });
    assert.equal(res.status, 200);
    assert.match(res.headers.get("content-type") ?? "", /application\/x-ndjson/);
    const text = await res.text();
    const types = text
      .trim()
      .split("\n")
      .map((l) => (JSON.parse(l) as { type: string }).type);
    assert.deepEqual(types.slice(0, 2), ["header", "checkpoint"]);
    const ok = await cli(
      "audit",
      "verify",
      "--export",
      file("api-export.ndjson", text),
      `--public-key=${publicKey}`,
    );
    assert.equal(ok.code, EXIT.ok, ok.stderr);
    assert.match(
      ok.stdout.join("\n"),
      /audit chain verified: \d+ events from the first event up to \d+ .*against signed checkpoint\(s\) at \d+/,
    );
    const { events } = (await h.call(olga, "GET", "/api/audit?limit=1000")).body as AuditListView;
    assert.ok(
      events.some((e) => e.action === "audit.exported" && e.actor === "user:olga"),
      "the export is in the trail",
    );
  });

  test("refuses the export and the checkpoint to a user without audit.read, an anonymous caller and a bad since", async () => {
    for (const path of ["/api/audit/export", "/api/audit/checkpoint"]) {
      const forbidden = await h.call(alice, "GET", path);
      assert.equal(forbidden.status, 403, path);
      assert.equal((forbidden.body as { error: { code: string } }).error.code, "auth.forbidden");
      assert.equal((await fetch(`${h.url}${path}`)).status, 401, path);
    }
    const bad = await h.call(olga, "GET", "/api/audit/export?since=last%20tuesday");
    assert.equal(bad.status, 400);
    assert.match(
      (bad.body as { error: { message: string } }).error.message,
      /since must be an ISO 8601 date/,
    );
    const denied = await cli("audit", "export", "--url", h.url, "--token", alice);
    assert.equal(denied.code, EXIT.auth, denied.stderr);
  });

  test("exports and fetches the checkpoint through the CLI, online and offline, and verifies with a key file", async () => {
    const online = await cli("audit", "export", "--url", h.url, "--token", olga, "--since", "1d");
    assert.equal(online.code, EXIT.ok, online.stderr);
    const offline = await cli("audit", "export", "--data-dir", botDir);
    assert.equal(offline.code, EXIT.ok, offline.stderr);
    const cp = await cli("audit", "checkpoint", "--url", h.url, "--token", olga);
    assert.equal(cp.code, EXIT.ok, cp.stderr);
    const keyFile = file(
      "public-key.json",
      JSON.stringify((await h.call(olga, "GET", "/api/public-key")).body),
    );
    const exportFile = file("cli-export.ndjson", offline.stdout.join("\n"));
    const verified = await cli(
      "audit",
      "verify",
      "--export",
      exportFile,
      "--checkpoint",
      file("cp.json", cp.stdout[0] ?? ""),
      "--public-key",
      keyFile,
    );
    assert.equal(verified.code, EXIT.ok, verified.stderr);
  });

  test("needs the public key and a readable checkpoint to check signatures", async () => {
    const cp = await cli("audit", "checkpoint", "--data-dir", botDir);
    assert.equal(cp.code, EXIT.ok, cp.stderr);
    const noKey = await cli(
      "audit",
      "verify",
      "--data-dir",
      botDir,
      "--checkpoint",
      file("cp2.json", cp.stdout[0] ?? ""),
    );
    assert.equal(noKey.code, EXIT.usage);
    assert.match(noKey.stderr, /needs the bot's public key/);
    const notCp = await cli(
      "audit",
      "verify",
      "--data-dir",
      botDir,
      "--checkpoint",
      file("x.json", "{}"),
      `--public-key=${publicKey}`,
    );
    assert.equal(notCp.code, EXIT.usage);
    const badKey = await cli("audit", "verify", "--data-dir", botDir, "--public-key", "AAAA");
    assert.equal(badKey.code, EXIT.usage);
  });

  test("refuses a missing export file, a missing state directory and a since it cannot read", async () => {
    const noFile = await cli(
      "audit",
      "verify",
      "--export",
      join(dir, "nope.ndjson"),
      `--public-key=${publicKey}`,
    );
    assert.equal(noFile.code, EXIT.usage);
    assert.match(noFile.stderr, /cannot read export/);
    const noDir = await cli("audit", "export", "--data-dir", join(dir, "nope"));
    assert.equal(noDir.code, EXIT.usage);
    assert.match(noDir.stderr, /no dbward state at/);
    const badSince = await cli("audit", "export", "--data-dir", botDir, "--since", "soon");
    assert.equal(badSince.code, EXIT.usage);
    const empty = mkdtempSync(join(dir, "empty-"));
    await openStore(empty).destroy();
    const none = await cli("audit", "checkpoint", "--data-dir", empty);
    assert.equal(none.code, EXIT.notFound);
    assert.match(none.stderr, /no signed checkpoint yet/);
    const notExport = await cli(
      "audit",
      "verify",
      "--export",
      file("plain.txt", "hello"),
      `--public-key=${publicKey}`,
    );
    assert.equal(notExport.code, EXIT.auditBroken);
    assert.match(notExport.stderr, /not a dbward audit export/);
  });

  test("catches the newest events deleted from the store when verified against a kept checkpoint", async () => {
    const cp = await checkpointAfter(5);
    const kept = file("kept.json", JSON.stringify(cp));
    await h.stop();
    running = false;
    const db = new Database(join(botDir, "dbward.sqlite"));
    db.prepare("DELETE FROM audit_events WHERE seq > ?").run(cp.seq - 2);
    db.prepare("DELETE FROM audit_checkpoints WHERE seq > ?").run(cp.seq - 2);
    db.close();
    const bare = await cli("audit", "verify", "--data-dir", botDir);
    assert.equal(bare.code, EXIT.ok, "a bare chain cannot see the deletion");
    const checked = await cli(
      "audit",
      "verify",
      "--data-dir",
      botDir,
      "--checkpoint",
      kept,
      `--public-key=${publicKey}`,
    );
    assert.equal(checked.code, EXIT.auditBroken, checked.stderr);
    assert.match(checked.stderr, new RegExp(`BROKEN at sequence ${cp.seq - 1}: truncated`));
  });
});
