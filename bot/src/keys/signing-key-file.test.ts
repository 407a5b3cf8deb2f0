import assert from "node:assert/strict";
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, test } from "node:test";
import { DbwardError, deriveKeyId, fromBase64url, sign, verifySignature } from "@dbward/shared";
import { KEY_FILE, ensureDataDir, loadOrCreateSigningKey } from "./signing-key-file.ts";

const NOW = new Date(Date.UTC(2024, 4, 1, 12, 0, 0));
const modeOf = (path: string): number => statSync(path).mode & 0o777;

describe("signing key file", () => {
  let root: string;
  let dataDir: string;
  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), "dbward-key-"));
    dataDir = join(root, "data", "bot");
  });
  afterEach(() => {
    rmSync(root, { recursive: true, force: true });
  });

  const refusal = (pattern: RegExp) => (err: unknown) =>
    err instanceof DbwardError && err.code === "config.invalid" && pattern.test(err.message);

  test("creates the key file with mode 0600 inside a new 0700 data directory", () => {
    const { key, created } = loadOrCreateSigningKey(dataDir, NOW);
    assert.equal(created, true);
    assert.equal(modeOf(dataDir), 0o700);
    assert.equal(modeOf(join(dataDir, KEY_FILE)), 0o600);
    const stored = JSON.parse(readFileSync(join(dataDir, KEY_FILE), "utf8")) as Record<string, unknown>;
    assert.deepEqual(Object.keys(stored).sort(), ["alg", "created_at", "kid", "secret_key"]);
    assert.equal(stored.alg, "EdDSA");
    assert.equal(stored.kid, key.kid);
    assert.equal(stored.kid, deriveKeyId(key.publicKey), "the key id is derived from the public key");
    assert.equal(stored.created_at, NOW.toISOString());
    assert.equal(fromBase64url(String(stored.secret_key))?.length, 32);
  });

  test("tightens an existing data directory that others can read", () => {
    mkdirSync(dataDir, { recursive: true });
    chmodSync(dataDir, 0o755);
    loadOrCreateSigningKey(dataDir, NOW);
    assert.equal(modeOf(dataDir), 0o700);
    chmodSync(dataDir, 0o750);
    ensureDataDir(dataDir);
    assert.equal(modeOf(dataDir), 0o700);
  });

  test("reloads the same key, with the same key id, on the next start", () => {
    const first = loadOrCreateSigningKey(dataDir, NOW);
    const again = loadOrCreateSigningKey(dataDir, new Date(NOW.getTime() + 86_400_000));
    assert.equal(again.created, false);
    assert.equal(again.key.kid, first.key.kid);
    assert.deepEqual(again.key.publicKey, first.key.publicKey);
    const message = new TextEncoder().encode("signed before the restart");
    assert.ok(verifySignature(again.key.publicKey, message, sign(first.key, message)));
    const stored = JSON.parse(readFileSync(join(dataDir, KEY_FILE), "utf8")) as { created_at: string };
    assert.equal(stored.created_at, NOW.toISOString(), "the file was not rewritten");
  });

  test("creates different keys in different data directories", () => {
    const a = loadOrCreateSigningKey(join(root, "a"), NOW).key;
    const b = loadOrCreateSigningKey(join(root, "b"), NOW).key;
    assert.notEqual(a.kid, b.kid);
  });

  for (const mode of [0o644, 0o640, 0o604, 0o660]) {
    test(`refuses a key file with mode ${mode.toString(8)}, telling the operator to chmod it`, () => {
      loadOrCreateSigningKey(dataDir, NOW);
      chmodSync(join(dataDir, KEY_FILE), mode);
      assert.throws(() => loadOrCreateSigningKey(dataDir, NOW), refusal(/chmod 600/));
      assert.throws(() => loadOrCreateSigningKey(dataDir, NOW), refusal(new RegExp(KEY_FILE)));
      assert.equal(modeOf(join(dataDir, KEY_FILE)), mode, "the file is left for the operator to fix");
    });
  }

  const writeKeyFile = (text: string): void => {
    ensureDataDir(dataDir);
    writeFileSync(join(dataDir, KEY_FILE), text, { mode: 0o600 });
  };

  test("refuses a key file that is not JSON", () => {
    writeKeyFile('{"kid": "abc", "secret_key": ');
    assert.throws(() => loadOrCreateSigningKey(dataDir, NOW), refusal(/not valid JSON/));
  });

  test("refuses an empty key file rather than generating a new key over it", () => {
    writeKeyFile("");
    assert.throws(() => loadOrCreateSigningKey(dataDir, NOW), refusal(/not valid JSON/));
    assert.equal(readFileSync(join(dataDir, KEY_FILE), "utf8"), "");
  });

  for (const [what, body] of [
    ["a missing secret", { kid: "k1", alg: "EdDSA" }],
    ["a secret of the wrong length", { kid: "k1", alg: "EdDSA", secret_key: "AAAA" }],
    ["a secret that is not base64url", { kid: "k1", alg: "EdDSA", secret_key: "!".repeat(43) }],
    ["an empty key id", { kid: "", alg: "EdDSA", secret_key: "A".repeat(43) }],
    ["a key id that is not a string", { kid: 7, alg: "EdDSA", secret_key: "A".repeat(43) }],
    ["a JSON array", []],
    ["JSON null", null],
  ] as const) {
    test(`refuses a key file with ${what}`, () => {
      writeKeyFile(JSON.stringify(body));
      assert.throws(() => loadOrCreateSigningKey(dataDir, NOW), refusal(/Ed25519|not valid JSON/));
    });
  }
});
