/**
 * Signing through a `Signer` (an HSM, a KMS) gives the very bytes the in-memory key gives, and a
 * signer that answers with something that does not verify fails where it signs, never as a token
 * or checkpoint that verifies nowhere. The untilSeq bound of a trusted key holds.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  signCheckpoint,
  signCheckpointWith,
  verifyCheckpointSignature,
  type TrustedKeys,
} from "./audit-checkpoint.ts";
import { signExecutionToken, signExecutionTokenWith, type TokenInput } from "./execution-token.ts";
import { memorySigner, signingKeyFromSecret, type Signer } from "./signing-key.ts";

const KEY = signingKeyFromSecret(new Uint8Array(32).fill(11));
const HEAD = { seq: 7, hash: "ab".repeat(32) };
const TIME = new Date(Date.UTC(2026, 11, 3, 12, 0, 0));
const INPUT: TokenInput = {
  jti: "t1",
  req: 1,
  exe: 1,
  purpose: "execute",
  max_rows: null,
  db: "shop",
  env: "production",
  op: "read",
  sql_sha256: "0".repeat(64),
  agent: "agent-1",
  iat: 1_800_000_000,
  exp: 1_800_000_060,
};

/** A signer whose HSM answers with another key's signature. */
function lyingSigner<P extends "tokens" | "checkpoints">(purpose: P): Signer<P> {
  const other = signingKeyFromSecret(new Uint8Array(32).fill(12));
  return { ...memorySigner(KEY, purpose), sign: (m) => memorySigner(other, purpose).sign(m) };
}

describe("signing through a Signer", () => {
  test("a token signed through a signer is byte for byte the in-memory key's token", async () => {
    assert.equal(
      await signExecutionTokenWith(memorySigner(KEY, "tokens"), INPUT),
      signExecutionToken(KEY, INPUT),
    );
  });

  test("a checkpoint signed through a signer is the in-memory key's checkpoint", async () => {
    assert.deepEqual(
      await signCheckpointWith(memorySigner(KEY, "checkpoints"), HEAD, TIME),
      signCheckpoint(KEY, HEAD, TIME),
    );
  });

  test("a signature that does not verify with the signer's public key is refused where it is made", async () => {
    await assert.rejects(signExecutionTokenWith(lyingSigner("tokens"), INPUT), /does not verify/);
    await assert.rejects(signCheckpointWith(lyingSigner("checkpoints"), HEAD, TIME), /does not verify/);
  });

  test("claims the verifier would refuse are refused before the signer is asked", async () => {
    let asked = 0;
    const counting: Signer<"tokens"> = {
      ...memorySigner(KEY, "tokens"),
      sign: (m) => {
        asked += 1;
        return memorySigner(KEY, "tokens").sign(m);
      },
    };
    await assert.rejects(signExecutionTokenWith(counting, { ...INPUT, exp: INPUT.iat + 301 }), RangeError);
    assert.equal(asked, 0);
  });
});

describe("a trusted key bounded by untilSeq", () => {
  const cpAt = (seq: number) => signCheckpoint(KEY, { ...HEAD, seq }, TIME);
  const bounded: TrustedKeys = {
    byKid: new Map([[KEY.kid, { kid: KEY.kid, publicKey: KEY.publicKey, untilSeq: 7 }]]),
    anyKid: [],
  };

  test("verifies checkpoints up to its bound", () => {
    assert.deepEqual(verifyCheckpointSignature(cpAt(7), bounded), { ok: true });
    assert.deepEqual(verifyCheckpointSignature(cpAt(1), bounded), { ok: true });
  });

  test("a checkpoint past the bound is unknown_key, naming the bound, however well signed", () => {
    const verdict = verifyCheckpointSignature(cpAt(8), bounded);
    assert.equal(verdict.ok, false);
    assert.equal(verdict.ok ? "" : verdict.reason, "unknown_key");
    assert.match(verdict.ok ? "" : verdict.message, /only up to sequence 7, not 8/);
    // The signature itself is good: only the bound refuses it.
    const unbounded: TrustedKeys = {
      byKid: new Map([[KEY.kid, { kid: KEY.kid, publicKey: KEY.publicKey }]]),
      anyKid: [],
    };
    assert.deepEqual(verifyCheckpointSignature(cpAt(8), unbounded), { ok: true });
  });
});
