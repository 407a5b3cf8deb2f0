import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { verifySignature } from "@dbward/shared";
import { SIGNING_DEFAULTS, signingSchema } from "../config/signing-config.ts";
import { openSigners } from "./open-signers.ts";

const NOW = new Date(Date.UTC(2026, 11, 3, 12, 0, 0));

describe("opening the bot's signers from key files", () => {
  const dirs: string[] = [];
  const fresh = (): string => {
    const d = mkdtempSync(join(tmpdir(), "dbward-signers-"));
    dirs.push(d);
    return join(d, "bot");
  };
  after(() => {
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });
  const open = (dataDir: string, signing = SIGNING_DEFAULTS) =>
    openSigners(signing, { dataDir, env: {}, now: NOW });

  test("by default: one key file, and a checkpoint key derived from it with another key id, the same at every start", async () => {
    const dir = fresh();
    const first = await open(dir);
    assert.deepEqual(readdirSync(dir), ["signing-key.json"]);
    assert.equal(first.tokens.created, true);
    assert.equal(first.checkpoints.created, true, "a derived key is as new as the file it comes from");
    assert.deepEqual(first.createdFiles, [join(dir, "signing-key.json")]);
    assert.notEqual(first.checkpoints.signer.kid, first.tokens.signer.kid);
    const again = await open(dir);
    assert.equal(again.tokens.created, false);
    assert.equal(again.checkpoints.signer.kid, first.checkpoints.signer.kid);
    const message = new TextEncoder().encode("{checkpoint bytes}");
    const sig = await again.checkpoints.signer.sign(message);
    assert.equal(verifySignature(first.checkpoints.signer.publicKey, message, sig), true);
    assert.equal(verifySignature(first.tokens.signer.publicKey, message, sig), false, "not the token key");
  });

  test("another token key file gives another derived checkpoint key", async () => {
    const a = await open(fresh());
    const b = await open(fresh());
    assert.notEqual(a.checkpoints.signer.kid, b.checkpoints.signer.kid);
  });

  test("checkpoints on a file key of their own: a second 0600 file, made on first start", async () => {
    const dir = fresh();
    const signing = signingSchema.parse({ checkpoints: { provider: "file" } });
    const first = await open(dir, signing);
    assert.deepEqual(readdirSync(dir).sort(), ["checkpoint-signing-key.json", "signing-key.json"]);
    assert.equal(statSync(join(dir, "checkpoint-signing-key.json")).mode & 0o777, 0o600);
    assert.deepEqual(first.createdFiles.length, 2);
    const again = await open(dir, signing);
    assert.equal(again.checkpoints.created, false);
    assert.equal(again.checkpoints.signer.kid, first.checkpoints.signer.kid);
    assert.notEqual(
      again.checkpoints.signer.kid,
      (await open(dir)).checkpoints.signer.kid,
      "not the derived key",
    );
  });
});
