import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { describe, test } from "node:test";
import { isSealedText, openBytes, openText, sealBytes, sealText, UnsealError } from "./sealed-value.ts";

const key = { id: "0011223344556677", key: randomBytes(32) };
const keyOf = (id: string): Buffer | undefined => (id === key.id ? key.key : undefined);

describe("sealed state values", () => {
  test("a sealed text opens at its place and shows nothing of the clear text", () => {
    const sealed = sealText(key, "requests.sql_text:7", "SELECT 'secret-literal'");
    assert.ok(isSealedText(sealed));
    assert.ok(!sealed.includes("secret"));
    assert.equal(openText(keyOf, "requests.sql_text:7", sealed), "SELECT 'secret-literal'");
  });

  test("each seal takes a fresh nonce: the same text twice seals differently", () => {
    assert.notEqual(sealText(key, "p", "same"), sealText(key, "p", "same"));
  });

  test("a ciphertext moved to another row or column does not open (AAD)", () => {
    const sealed = sealText(key, "requests.sql_text:7", "SELECT 1");
    assert.throws(() => openText(keyOf, "requests.sql_text:8", sealed), UnsealError);
    assert.throws(
      () => openText(keyOf, "requests.reason:7", sealed),
      /state\.undecryptable.*requests\.reason:7/,
    );
  });

  test("a changed byte, an unknown key id, another version or another key is refused", () => {
    const sealed = sealBytes(key, "results.1-1:0", Buffer.from("{}\n"));
    const flipped = Buffer.from(sealed);
    flipped[flipped.length - 1] = (flipped[flipped.length - 1] ?? 0) ^ 1;
    assert.throws(() => openBytes(keyOf, "results.1-1:0", flipped), /authentication failed/);
    const otherVersion = Buffer.from(sealed);
    otherVersion[4] = 2;
    assert.throws(() => openBytes(keyOf, "results.1-1:0", otherVersion), /unknown format version 2/);
    assert.throws(
      () => openBytes(() => undefined, "results.1-1:0", sealed),
      /data key 0011223344556677 is not/,
    );
    assert.throws(() => openBytes(() => randomBytes(32), "results.1-1:0", sealed), UnsealError);
  });

  test("a 4 MiB chunk seals as one record with 41 bytes of overhead", () => {
    const chunk = randomBytes(4 * 1024 * 1024);
    const sealed = sealBytes(key, "results.9-1:3", chunk);
    assert.equal(sealed.length, chunk.length + 41);
    assert.ok(openBytes(keyOf, "results.9-1:3", sealed).equals(chunk));
  });
});
