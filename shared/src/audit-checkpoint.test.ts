import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { chainEvent, hashAuditEvent, type AuditEvent } from "./audit-chain.ts";
import {
  CHECKPOINT_TYPE,
  CheckpointedChainVerifier,
  checkpointSigningBytes,
  parseCheckpoint,
  signCheckpoint,
  verifyCheckpointSignature,
  type CheckpointBreak,
  type SignedCheckpoint,
  type TrustedKeys,
} from "./audit-checkpoint.ts";
import { canonicalJson } from "./canonical-json.ts";
import { base64url, sha256Hex } from "./encoding.ts";
import { signExecutionToken, verifyExecutionToken } from "./execution-token.ts";
import { signingKeyFromSecret, type SigningKey } from "./signing-key.ts";

const T0 = Date.UTC(2024, 4, 1, 12, 0, 0);
const KEY = signingKeyFromSecret(new Uint8Array(32).fill(7));
/** Another key that claims the trusted key's id. */
const OTHER = signingKeyFromSecret(new Uint8Array(32).fill(8), KEY.kid);
const TRUST: TrustedKeys = {
  byKid: new Map([[KEY.kid, { kid: KEY.kid, publicKey: KEY.publicKey }]]),
  anyKid: [],
};

function chain(length: number): AuditEvent[] {
  const events: AuditEvent[] = [];
  for (let i = 1; i <= length; i++) {
    events.push(
      chainEvent(
        events.at(-1),
        {
          actor: `user:u${i}`,
          action: "request.created",
          target: `request:${i}`,
          outcome: "success",
          details: { i },
        },
        new Date(T0 + i * 1000),
      ),
    );
  }
  return events;
}

function checkpointAt(events: readonly AuditEvent[], seq: number, key: SigningKey = KEY): SignedCheckpoint {
  const e = events[seq - 1];
  assert.ok(e !== undefined);
  return signCheckpoint(key, e, new Date(T0 + 3_600_000));
}

function verify(
  events: readonly AuditEvent[],
  checkpoints: readonly SignedCheckpoint[],
  anchor?: SignedCheckpoint,
  keys: TrustedKeys = TRUST,
) {
  const v = new CheckpointedChainVerifier(checkpoints, keys, anchor);
  for (const e of events) if (!v.push(e)) break;
  return v.verdict();
}

function assertFails(verdict: ReturnType<typeof verify>, seq: number, reason: CheckpointBreak): void {
  assert.equal(verdict.ok, false, "verification fails");
  if (!verdict.ok) {
    assert.equal(verdict.reason, reason, verdict.message);
    assert.equal(verdict.seq, seq, verdict.message);
  }
}

describe("audit checkpoints", () => {
  const events = chain(10);

  test("signs the domain-separated canonical JSON of the head, time and key id", () => {
    const cp = checkpointAt(events, 6);
    assert.equal(cp.type, CHECKPOINT_TYPE);
    assert.equal(cp.seq, 6);
    assert.equal(cp.hash, events[5]?.hash);
    assert.equal(cp.kid, KEY.kid);
    const expected = canonicalJson({
      hash: cp.hash,
      kid: KEY.kid,
      seq: 6,
      time: cp.time,
      type: CHECKPOINT_TYPE,
      v: 1,
    });
    assert.equal(new TextDecoder().decode(checkpointSigningBytes(cp)), expected);
    assert.deepEqual(verifyCheckpointSignature(cp, TRUST), { ok: true });
  });

  test("round-trips through JSON and refuses anything that is not exactly a checkpoint", () => {
    const cp = checkpointAt(events, 3);
    assert.deepEqual(parseCheckpoint(JSON.parse(JSON.stringify(cp))), cp);
    for (const bad of [
      null,
      [],
      "x",
      { ...cp, extra: 1 },
      { ...cp, type: "dbward-exec+jwt" },
      { ...cp, v: 2 },
      { ...cp, seq: 0 },
      { ...cp, seq: 1.5 },
      { ...cp, seq: "3" },
      { ...cp, hash: cp.hash.toUpperCase() },
      { ...cp, hash: "0".repeat(64) },
      { ...cp, time: "yesterday" },
      { ...cp, kid: "" },
      { ...cp, sig: 5 },
    ]) {
      assert.equal(parseCheckpoint(bad), undefined, JSON.stringify(bad));
    }
  });

  test("refuses a signature by an untrusted key, an unknown key id and any edited claim", () => {
    const cp = checkpointAt(events, 4);
    const byOther = checkpointAt(events, 4, OTHER);
    assert.equal(verifyCheckpointSignature(byOther, TRUST).ok, false);
    assert.equal(verifyCheckpointSignature({ ...cp, seq: 5 }, TRUST).ok, false);
    assert.equal(verifyCheckpointSignature({ ...cp, hash: events[4]?.hash ?? "" }, TRUST).ok, false);
    assert.equal(verifyCheckpointSignature({ ...cp, time: new Date(T0).toISOString() }, TRUST).ok, false);
    assert.equal(verifyCheckpointSignature({ ...cp, sig: "not base64url!" }, TRUST).ok, false);
    const unknown = verifyCheckpointSignature(cp, { byKid: new Map(), anyKid: [] });
    assert.equal(!unknown.ok && unknown.reason, "unknown_key");
  });

  test("accepts a bare public key, given without a key id, for any checkpoint it signed", () => {
    const cp = checkpointAt(events, 4);
    assert.deepEqual(verifyCheckpointSignature(cp, { byKid: new Map(), anyKid: [KEY.publicKey] }), {
      ok: true,
    });
    assert.equal(verifyCheckpointSignature(cp, { byKid: new Map(), anyKid: [OTHER.publicKey] }).ok, false);
  });

  test("cannot be confused with an execution token signed by the same key", () => {
    const now = Math.floor(T0 / 1000);
    const token = signExecutionToken(KEY, {
      jti: "t1",
      req: 1,
      exe: 1,
      purpose: "execute",
      max_rows: null,
      db: "main",
      env: "production",
      op: "read",
      sql_sha256: sha256Hex("SELECT 1"),
      agent: "agent-1",
      iat: now,
      exp: now + 60,
    });
    const [h, p, s] = token.split(".") as [string, string, string];
    assert.ok(!`${h}.${p}`.includes("{"), "a token's signing input never contains {");
    const cp = checkpointAt(events, 2);
    assert.equal(
      new TextDecoder().decode(checkpointSigningBytes(cp))[0],
      "{",
      "a checkpoint's always starts with {",
    );
    // The token's signature presented as a checkpoint's, and the checkpoint's as a token's.
    assert.equal(verifyCheckpointSignature({ ...cp, sig: s }, TRUST).ok, false);
    const asToken = `${base64url(new TextEncoder().encode('{"alg":"EdDSA","typ":"dbward-exec+jwt"}'))}.${base64url(checkpointSigningBytes(cp))}.${cp.sig}`;
    const verdict = verifyExecutionToken(asToken, {
      keys: new Map([[KEY.kid, { kid: KEY.kid, publicKey: KEY.publicKey }]]),
      now,
      purpose: "execute",
      sql: "SELECT 1",
      agentId: "agent-1",
      allows: () => true,
    });
    assert.equal(verdict.ok, false);
  });

  describe("verifying a chain against checkpoints", () => {
    test("passes a whole chain against a checkpoint in the middle and one at the head", () => {
      const verdict = verify(events, [checkpointAt(events, 5), checkpointAt(events, 10)]);
      assert.deepEqual(verdict, {
        ok: true,
        count: 10,
        lastSeq: 10,
        lastHash: events[9]?.hash,
        checkpoints: [5, 10],
      });
    });

    test("reports the removal of the newest events after the checkpoint as truncation", () => {
      assertFails(verify(events.slice(0, 7), [checkpointAt(events, 10)]), 8, "truncated");
      assertFails(verify(events.slice(0, 9), [checkpointAt(events, 10)]), 10, "truncated");
      assertFails(verify([], [checkpointAt(events, 1)]), 1, "truncated");
    });

    test("reports a rewritten history whose hashes were all recomputed", () => {
      const forged: AuditEvent[] = [];
      for (const e of events) {
        const base = {
          ...e,
          prevHash: forged.at(-1)?.hash ?? e.prevHash,
          actor: e.seq === 3 ? "user:mallory" : e.actor,
        };
        forged.push({ ...base, hash: hashAuditEvent(base) });
      }
      assert.equal(verify(forged, []).ok, true, "a re-hashed chain is a valid chain on its own");
      assertFails(verify(forged, [checkpointAt(events, 8)]), 8, "checkpoint_mismatch");
    });

    test("reports edits, deletions and reordering with the chain's own reasons", () => {
      const cps = [checkpointAt(events, 10)];
      const edited = events.map((e) => (e.seq === 4 ? { ...e, actor: "user:mallory" } : e));
      assertFails(verify(edited, cps), 4, "hash_mismatch");
      assertFails(
        verify(
          events.filter((e) => e.seq !== 6),
          cps,
        ),
        7,
        "sequence_gap",
      );
      const swapped = [...events];
      [swapped[2], swapped[3]] = [events[3] as AuditEvent, events[2] as AuditEvent];
      assertFails(verify(swapped, cps), 4, "sequence_gap");
    });

    test("refuses a checkpoint that is not signed by a trusted key", () => {
      assertFails(verify(events, [checkpointAt(events, 10, OTHER)]), 10, "bad_signature");
      assertFails(
        verify(events, [checkpointAt(events, 10)], undefined, { byKid: new Map(), anyKid: [] }),
        10,
        "unknown_key",
      );
    });

    test("verifies from a signed anchor when older events were purged", () => {
      const anchor = checkpointAt(events, 4);
      const rest = events.slice(4);
      const verdict = verify(rest, [checkpointAt(events, 9)], anchor);
      assert.deepEqual(verdict, {
        ok: true,
        count: 6,
        lastSeq: 10,
        lastHash: events[9]?.hash,
        checkpoints: [9],
      });
      assertFails(verify(rest.slice(1), [], anchor), 6, "sequence_gap");
      assertFails(verify(rest, [], checkpointAt(events, 4, OTHER)), 4, "bad_signature");
      assertFails(verify(rest, [], { ...anchor, hash: events[2]?.hash ?? "" }), 4, "bad_signature");
    });

    test("says a checkpoint older than the anchor cannot be confirmed by the remaining events", () => {
      assertFails(
        verify(events.slice(4), [checkpointAt(events, 2)], checkpointAt(events, 4)),
        2,
        "not_covered",
      );
      const same = verify(events.slice(4), [checkpointAt(events, 4)], checkpointAt(events, 4));
      assert.equal(same.ok, true);
    });

    test("reports two checkpoints that disagree about the same sequence number", () => {
      const other = chain(10).map((e) => e);
      const forgedHead = { ...other[4], actor: "user:x" } as AuditEvent;
      const forged = signCheckpoint(KEY, { seq: 5, hash: hashAuditEvent(forgedHead) }, new Date(T0));
      assertFails(verify(events, [checkpointAt(events, 5), forged]), 5, "checkpoint_mismatch");
    });
  });
});
