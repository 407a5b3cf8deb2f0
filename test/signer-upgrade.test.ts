/**
 * An install from before the checkpoints had their own key keeps working (docs/security-hardening.md,
 * "HSM-backed signing"): a store whose one key file signed tokens and checkpoints, without the
 * new table and column, is opened by the real bot. The key file stays the token key (the agent's
 * pin is unchanged and the real agent runs the job), the checkpoint key is derived from it and
 * recorded as installed, the old checkpoint still verifies by its key id, a checkpoint that old
 * key signs afterwards does not, and `audit verify --data-dir` passes on the result.
 */
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import Database from "better-sqlite3";
import type { AgentHandle } from "@dbward/agent";
import { listAudit } from "@dbward/bot";
import {
  fromBase64url,
  signCheckpoint,
  signingKeyFromSecret,
  verifyCheckpointSignature,
  type RequestView,
} from "@dbward/shared";
import { storedPublicKeys } from "../bot/src/audit/audit-checkpoints.ts";
import { readTrustedKeys } from "../cli/src/commands/audit-verify-signed.ts";
import { EXIT } from "../cli/src/exit-codes.ts";
import { main } from "../cli/src/main.ts";
import { startTestAgent } from "./support/agent-harness.ts";
import { startBotHarness, TEST_CONFIG, type BotHarness } from "./support/bot-harness.ts";
import { captureOutput } from "./support/capture-output.ts";
import { token } from "./support/processes.ts";
import { waitForStatus } from "./support/wait.ts";

describe(
  "an install from before separate checkpoint keys",
  { skip: process.env.DBWARD_TEST_STATE === "postgres" && "reads the SQLite file" },
  () => {
    const dir = mkdtempSync(join(tmpdir(), "dbward-signer-upgrade-"));
    const env = { DBWARD_ADMIN_TOKEN: token("dbw_"), DBWARD_AGENT_TOKEN_AGENT_1: token("dbwa_") };
    let h: BotHarness | undefined;
    let agent: AgentHandle | undefined;
    after(async () => {
      await agent?.stop();
      await h?.stop();
      rmSync(dir, { recursive: true, force: true });
    });

    const read = async (bot: BotHarness, reason: string): Promise<RequestView> => {
      const res = await bot.call(await bot.tokenFor("alice"), "POST", "/api/requests", {
        database: "shop",
        environment: "staging",
        sql: "SELECT 42 AS answer",
        reason,
      });
      assert.equal(res.status, 201, JSON.stringify(res.body));
      return res.body as RequestView;
    };

    test("keeps its key file for tokens, derives a checkpoint key, and its old checkpoints verify", async () => {
      h = await startBotHarness(TEST_CONFIG, { dataDir: dir, env });
      await read(h, "before the upgrade");
      await h.stop();
      h = undefined;

      // Turn the store into one an older bot left: no checkpoint key table, no bound column, and a
      // checkpoint the key file signed as that bot did.
      const file = JSON.parse(readFileSync(join(dir, "bot", "signing-key.json"), "utf8")) as {
        kid: string;
        secret_key: string;
      };
      const oldKey = signingKeyFromSecret(fromBase64url(file.secret_key) ?? new Uint8Array(), file.kid);
      const db = new Database(join(dir, "bot", "dbward.sqlite"));
      try {
        db.exec("DROP TABLE checkpoint_signing_keys");
        // As an older schema.sql created it (a DROP COLUMN cannot edit the commented definition).
        db.exec(`
        CREATE TABLE old_signing_keys (kid TEXT NOT NULL PRIMARY KEY, public_key TEXT NOT NULL,
          first_used_at TEXT NOT NULL, last_started_at TEXT NOT NULL);
        INSERT INTO old_signing_keys SELECT kid, public_key, first_used_at, last_started_at FROM signing_keys;
        DROP TABLE signing_keys;
        ALTER TABLE old_signing_keys RENAME TO signing_keys;
      `);
        db.exec("DELETE FROM audit_checkpoints");
        const head = db.prepare("SELECT seq, hash FROM audit_events ORDER BY seq DESC LIMIT 1").get() as {
          seq: number;
          hash: string;
        };
        const old = signCheckpoint(oldKey, head, new Date());
        db.prepare(
          "INSERT INTO audit_checkpoints (seq, hash, time, kid, signature) VALUES (?, ?, ?, ?, ?)",
        ).run(old.seq, old.hash, old.time, old.kid, old.sig);
      } finally {
        db.close();
      }

      h = await startBotHarness(TEST_CONFIG, { dataDir: dir, env });
      assert.equal(h.bot.signingKey.kid, oldKey.kid, "the key file still signs the tokens");
      assert.notEqual(h.bot.checkpointSigner.kid, oldKey.kid);
      // The agent's pin from before the upgrade is all it needs.
      agent = await startTestAgent(
        h,
        "agent-1",
        undefined,
        {},
        { [file.kid]: readPublic(oldKey) },
        env.DBWARD_AGENT_TOKEN_AGENT_1,
      );
      const r = await read(h, "after the upgrade");
      await waitForStatus(h, r.id, "succeeded");
      const installed = (await listAudit(h.bot.store)).filter((e) => e.action === "checkpoint_key.installed");
      assert.deepEqual(
        installed.map((e) => e.target),
        [`key:${h.bot.checkpointSigner.kid}`],
      );

      const trusted = await storedPublicKeys(h.bot.store);
      const legacy = trusted.byKid.get(oldKey.kid);
      const oldCheckpoint = await h.bot.store
        .selectFrom("audit_checkpoints")
        .selectAll()
        .executeTakeFirstOrThrow();
      assert.equal(legacy?.untilSeq, oldCheckpoint.seq, "bounded at the last checkpoint it signed");
      // What the old key would sign now, for the head after the upgrade, vouches for nothing.
      const later = await h.bot.store
        .selectFrom("audit_events")
        .select(["seq", "hash"])
        .orderBy("seq", "desc")
        .executeTakeFirstOrThrow();
      const forged = signCheckpoint(oldKey, later, new Date());
      assert.equal(verifyCheckpointSignature(forged, trusted).ok, false);
      // Offline, from the public-key answer an auditor saves: the same keys, the same bound.
      const published = join(dir, "public-keys.json");
      writeFileSync(published, await (await fetch(`${h.url}/api/public-key`)).text());
      const offline = readTrustedKeys([published]);
      assert.equal(offline.byKid.get(oldKey.kid)?.untilSeq, oldCheckpoint.seq);
      assert.ok(offline.byKid.has(h.bot.checkpointSigner.kid));
      assert.equal(verifyCheckpointSignature(forged, offline).ok, false);

      await agent.stop();
      agent = undefined;
      await h.stop();
      h = undefined;
      const out = captureOutput();
      assert.equal(
        await main(["audit", "verify", "--data-dir", join(dir, "bot")], {}, out),
        EXIT.ok,
        out.stderr.join("\n"),
      );
      // Every stored checkpoint is checked, the one the old key signed included.
      assert.match(
        out.stdout.join("\n"),
        /audit chain verified: \d+ events .*against \d+ stored signed checkpoint/,
      );
      const withKeys = captureOutput();
      const args = ["audit", "verify", "--data-dir", join(dir, "bot"), "--public-key", published];
      assert.equal(await main(args, {}, withKeys), EXIT.ok, withKeys.stderr.join("\n"));
    });
  },
);

function readPublic(key: { publicKey: Uint8Array }): string {
  return Buffer.from(key.publicKey).toString("base64url");
}
