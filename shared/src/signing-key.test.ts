import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { createPrivateKey, createPublicKey, sign as nodeSign, verify as nodeVerify } from "node:crypto";
import { base64url, bytesToHex, hexToBytes, sha256Hex } from "./encoding.ts";
import {
  deriveKeyId,
  encodePublicKey,
  generateSigningKey,
  parsePublicKey,
  sign,
  signingKeyFromSecret,
  verifySignature,
} from "./signing-key.ts";

const hex = (text: string): Uint8Array => {
  const bytes = hexToBytes(text);
  assert.ok(bytes !== undefined, `test vector ${text} is hex`);
  return bytes;
};
const utf8 = (text: string): Uint8Array => new TextEncoder().encode(text);

// RFC 8032 §7.1, TEST 1 (empty message).
const RFC_SECRET = hex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60");
const RFC_PUBLIC = hex("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a");
const RFC_SIGNATURE = hex(
  "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b",
);

// The eight points of small order on edwards25519 (the torsion subgroup), canonically encoded.
const SMALL_ORDER_POINTS = [
  "0100000000000000000000000000000000000000000000000000000000000000",
  "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a",
  "0000000000000000000000000000000000000000000000000000000000000080",
  "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05",
  "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
  "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc85",
  "0000000000000000000000000000000000000000000000000000000000000000",
  "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa",
].map(hex);

/** The identity point R with S = 0: under a small-order key it satisfies the cofactored equation for any message. */
const UNIVERSAL_FORGERY = new Uint8Array(64);
UNIVERSAL_FORGERY[0] = 1;

/** The group order L of edwards25519 (RFC 8032 §5.1). */
const L = 2n ** 252n + 27742317777372353535851937790883648493n;

function littleEndianToBigInt(bytes: Uint8Array): bigint {
  return bytes.reduceRight((acc, byte) => (acc << 8n) | BigInt(byte), 0n);
}

function bigIntToLittleEndian(value: bigint, length: number): Uint8Array {
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i++) out[i] = Number((value >> BigInt(8 * i)) & 0xffn);
  return out;
}

function nodePublicKey(publicKey: Uint8Array) {
  return createPublicKey({ key: { kty: "OKP", crv: "Ed25519", x: base64url(publicKey) }, format: "jwk" });
}

describe("signing keys", () => {
  test("derives the RFC 8032 public key from its secret and signs its test vector byte for byte", () => {
    const key = signingKeyFromSecret(RFC_SECRET);
    assert.deepEqual(key.publicKey, RFC_PUBLIC);
    assert.deepEqual(sign(key, new Uint8Array(0)), RFC_SIGNATURE);
    assert.equal(verifySignature(RFC_PUBLIC, new Uint8Array(0), RFC_SIGNATURE), true);
  });

  test("derives a stable key id: the first 16 hex characters of the public key's SHA-256", () => {
    // Pinned: an agent config line `kid: public-key` must keep meaning the same key across releases.
    assert.equal(deriveKeyId(RFC_PUBLIC), "21fe31dfa154a261");
    assert.equal(deriveKeyId(RFC_PUBLIC), sha256Hex(RFC_PUBLIC).slice(0, 16));
    assert.equal(signingKeyFromSecret(RFC_SECRET).kid, "21fe31dfa154a261");
    assert.equal(signingKeyFromSecret(RFC_SECRET).kid, signingKeyFromSecret(RFC_SECRET).kid);
  });

  test("uses an operator-chosen key id when one is given", () => {
    assert.equal(signingKeyFromSecret(RFC_SECRET, "2024-05").kid, "2024-05");
    assert.equal(generateSigningKey("rotated").kid, "rotated");
  });

  test("generates distinct 32-byte key pairs whose key id is derived from the public key", () => {
    const a = generateSigningKey();
    const b = generateSigningKey();
    assert.equal(a.secretKey.length, 32);
    assert.equal(a.publicKey.length, 32);
    assert.notDeepEqual(a.secretKey, b.secretKey);
    assert.notEqual(a.kid, b.kid);
    assert.equal(a.kid, deriveKeyId(a.publicKey));
    assert.deepEqual(signingKeyFromSecret(a.secretKey).publicKey, a.publicKey);
  });

  test("refuses a secret key that is not 32 bytes", () => {
    for (const length of [0, 31, 33, 64]) {
      assert.throws(() => signingKeyFromSecret(new Uint8Array(length)), TypeError, `length ${length}`);
    }
  });
});

describe("parsePublicKey", () => {
  test("round-trips with encodePublicKey and keeps the given key id", () => {
    const key = generateSigningKey();
    const text = encodePublicKey(key);
    assert.match(text, /^[A-Za-z0-9_-]{43}$/);
    const parsed = parsePublicKey("k1", text);
    assert.deepEqual(parsed, { kid: "k1", publicKey: key.publicKey });
  });

  test("ignores surrounding whitespace, as a config value may carry", () => {
    const text = base64url(RFC_PUBLIC);
    assert.deepEqual(parsePublicKey("k", `  ${text}\n`)?.publicKey, RFC_PUBLIC);
  });

  test("refuses keys of the wrong length", () => {
    for (const length of [0, 1, 16, 31, 33, 64]) {
      const text = base64url(new Uint8Array(length).fill(7));
      assert.equal(parsePublicKey("k", text), undefined, `length ${length}`);
    }
  });

  test("refuses text that is not strict base64url", () => {
    const good = base64url(RFC_PUBLIC);
    const standardBase64 = Buffer.from(RFC_PUBLIC).toString("base64").replace(/=+$/, "");
    assert.notEqual(standardBase64, good, "the vector needs a '+' or '/' to exercise the alphabet check");
    const refused = [
      "",
      "not a key",
      `${good}=`,
      standardBase64,
      bytesToHex(RFC_PUBLIC),
      `${good.slice(0, 42)}B`, // non-canonical trailing bits
      `${good.slice(0, 20)} ${good.slice(20)}`,
    ];
    for (const text of refused) assert.equal(parsePublicKey("k", text), undefined, JSON.stringify(text));
  });

  test("refuses 32 bytes that do not encode a curve point", () => {
    const notAPoint = new Uint8Array(32);
    notAPoint[0] = 2; // y = 2 has no x on edwards25519
    assert.equal(parsePublicKey("k", base64url(notAPoint)), undefined);
  });

  test("refuses a non-canonical point encoding (y >= p)", () => {
    // y = p + 1 decodes to the identity under lax rules; RFC 8032 §5.1.3 refuses it.
    const pPlusOne = hex("eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f");
    assert.equal(parsePublicKey("k", base64url(pPlusOne)), undefined);
  });

  test("refuses every small-order point, including the all-zero placeholder", () => {
    for (const point of SMALL_ORDER_POINTS) {
      assert.equal(parsePublicKey("k", base64url(point)), undefined, bytesToHex(point));
    }
    assert.equal(parsePublicKey("k", "A".repeat(43)), undefined);
  });
});

describe("verifySignature", () => {
  const key = signingKeyFromSecret(RFC_SECRET);
  const message = utf8("UPDATE accounts SET frozen = true WHERE id = 42");
  const signature = sign(key, message);

  test("accepts a signature made by the matching key", () => {
    assert.equal(verifySignature(key.publicKey, message, signature), true);
  });

  test("refuses a signature over a message changed in one bit", () => {
    const changed = message.slice();
    changed[0] = (changed[0] ?? 0) ^ 1;
    assert.equal(verifySignature(key.publicKey, changed, signature), false);
  });

  test("refuses a signature with any one byte flipped", () => {
    for (const index of [0, 1, 31, 32, 33, 63]) {
      const flipped = signature.slice();
      flipped[index] = (flipped[index] ?? 0) ^ 0x01;
      assert.equal(verifySignature(key.publicKey, message, flipped), false, `byte ${index}`);
    }
  });

  test("refuses a signature checked against another key", () => {
    assert.equal(verifySignature(generateSigningKey().publicKey, message, signature), false);
  });

  test("refuses a malleated signature with S + L in place of S", () => {
    const s = littleEndianToBigInt(signature.subarray(32));
    const malleated = signature.slice();
    malleated.set(bigIntToLittleEndian(s + L, 32), 32);
    assert.notDeepEqual(malleated, signature);
    assert.equal(verifySignature(key.publicKey, message, malleated), false);
  });

  test("refuses the universal forgery under every small-order key", () => {
    for (const point of SMALL_ORDER_POINTS) {
      for (const text of ["", "DROP TABLE users", "anything at all"]) {
        assert.equal(verifySignature(point, utf8(text), UNIVERSAL_FORGERY), false, bytesToHex(point));
      }
    }
  });

  test("returns false, never throws, for wrong lengths", () => {
    for (const length of [0, 1, 63, 65, 128]) {
      assert.equal(
        verifySignature(key.publicKey, message, new Uint8Array(length)),
        false,
        `signature ${length}`,
      );
    }
    for (const length of [0, 31, 33]) {
      assert.equal(verifySignature(new Uint8Array(length), message, signature), false, `key ${length}`);
    }
  });

  test("returns false, never throws, for inputs that are not byte arrays", () => {
    const junk: readonly unknown[] = [undefined, null, "signature", 42, {}, Array.from(signature)];
    for (const value of junk) {
      const bytes = value as Uint8Array;
      assert.equal(verifySignature(key.publicKey, message, bytes), false, `signature ${String(value)}`);
      assert.equal(verifySignature(bytes, message, signature), false, `key ${String(value)}`);
      assert.equal(verifySignature(key.publicKey, bytes, signature), false, `message ${String(value)}`);
    }
  });

  test("returns false for a key that does not decode to a point", () => {
    const notAPoint = new Uint8Array(32);
    notAPoint[0] = 2;
    assert.equal(verifySignature(notAPoint, message, signature), false);
  });
});

describe("signatures agree with Node's built-in Ed25519 (OpenSSL)", () => {
  const key = signingKeyFromSecret(RFC_SECRET);
  const message = utf8("dbward cross-check");

  test("Node verifies a signature made by sign()", () => {
    const signature = sign(key, message);
    assert.equal(nodeVerify(null, message, nodePublicKey(key.publicKey), signature), true);
    const tampered = signature.slice();
    tampered[10] = (tampered[10] ?? 0) ^ 0x80;
    assert.equal(nodeVerify(null, message, nodePublicKey(key.publicKey), tampered), false);
  });

  test("verifySignature accepts a signature made by Node, identical byte for byte to sign()", () => {
    const privateKey = createPrivateKey({
      key: { kty: "OKP", crv: "Ed25519", x: base64url(key.publicKey), d: base64url(key.secretKey) },
      format: "jwk",
    });
    const signature = new Uint8Array(nodeSign(null, message, privateKey));
    assert.equal(verifySignature(key.publicKey, message, signature), true);
    assert.deepEqual(signature, sign(key, message));
  });
});
