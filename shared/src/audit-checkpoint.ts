/**
 * Signed audit checkpoints: the bot's Ed25519 signature over the chain's head (sequence number and
 * hash) at a moment. A bare hash chain cannot show that its newest events were deleted — the
 * shorter chain is still a valid chain — but a checkpoint kept outside the bot can: the chain must
 * still contain the checkpoint's sequence number with exactly the checkpoint's hash.
 *
 * Encoding: the signed bytes are the canonical JSON (canonical-json.ts) of
 * `{"hash","kid","seq","time","type":"dbward-audit-checkpoint","v":1}`. The `type` member is the
 * domain separation from every other object the same key signs. In particular an execution token
 * (execution-token.ts) signs the ASCII text `base64url(header).base64url(payload)`, which can never
 * contain `{`, while a checkpoint's signed bytes always begin with `{`: no byte string is both, so
 * a signature on one can never be replayed as the other.
 *
 * Since dbward keeps a key per purpose (signing-key.ts), a checkpoint is signed by the checkpoint
 * key, which signs nothing else; the type tag still holds for checkpoints signed before, by the
 * key that also signed tokens.
 *
 * A checkpoint travels as the same object plus `sig` (base64url of the 64-byte signature), one
 * JSON object per file or NDJSON line.
 */
import {
  GENESIS_HASH,
  type AuditEvent,
  type ChainBreak,
  type ChainVerdict,
  ChainVerifier,
} from "./audit-chain.ts";
import { canonicalBytes } from "./canonical-json.ts";
import { base64url, fromBase64url } from "./encoding.ts";
import { DbwardError } from "./errors.ts";
import { sign, verifySignature, type PublicKey, type Signer, type SigningKey } from "./signing-key.ts";

export const CHECKPOINT_TYPE = "dbward-audit-checkpoint";
export const CHECKPOINT_VERSION = 1;

/** What a checkpoint states: the chain's head at `time`, signed by the key `kid`. */
export interface CheckpointClaims {
  /** Sequence number of the newest event covered (≥ 1). */
  readonly seq: number;
  /** That event's hash: 64 lower-case hex characters. */
  readonly hash: string;
  /** When the checkpoint was taken: ISO 8601 UTC with milliseconds. */
  readonly time: string;
  /** Key id of the signing key. */
  readonly kid: string;
}

/** A checkpoint as exported and stored: its claims, its type tag and its signature. */
export interface SignedCheckpoint extends CheckpointClaims {
  readonly type: typeof CHECKPOINT_TYPE;
  readonly v: typeof CHECKPOINT_VERSION;
  /** base64url Ed25519 signature over `checkpointSigningBytes(claims)`. */
  readonly sig: string;
}

const HASH = /^[0-9a-f]{64}$/;
const ISO_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
const KID = /^[A-Za-z0-9_.-]{1,64}$/;

/** The exact bytes a checkpoint signature covers (domain-separated, see the module comment). */
export function checkpointSigningBytes(c: CheckpointClaims): Uint8Array {
  return canonicalBytes({
    type: CHECKPOINT_TYPE,
    v: CHECKPOINT_VERSION,
    seq: c.seq,
    hash: c.hash,
    time: c.time,
    kid: c.kid,
  });
}

/** Signs the head `{ seq, hash }` at `time` with an in-memory `key`; refuses claims a verifier would refuse. */
export function signCheckpoint(
  key: SigningKey,
  head: { seq: number; hash: string },
  time: Date,
): SignedCheckpoint {
  const claims = checkpointClaims(key.kid, head, time);
  const sig = base64url(sign(key, checkpointSigningBytes(claims)));
  return { type: CHECKPOINT_TYPE, v: CHECKPOINT_VERSION, ...claims, sig };
}

/**
 * Signs the head with the bot's checkpoint signer (a key file, an HSM, a KMS); the same bytes as
 * `signCheckpoint`. Only a `checkpoints` signer is accepted: the token key signs no checkpoint.
 */
export async function signCheckpointWith(
  signer: Signer<"checkpoints">,
  head: { seq: number; hash: string },
  time: Date,
): Promise<SignedCheckpoint> {
  const claims = checkpointClaims(signer.kid, head, time);
  const bytes = checkpointSigningBytes(claims);
  const signature = await signer.sign(bytes);
  // A signer answering with a signature that does not verify (a misbehaving HSM or KMS) must not
  // leave a checkpoint that fails every later `audit verify`.
  if (!verifySignature(signer.publicKey, bytes, signature))
    throw new DbwardError(
      "signing.unavailable",
      `signing key ${signer.kid} returned a checkpoint signature that does not verify`,
    );
  return { type: CHECKPOINT_TYPE, v: CHECKPOINT_VERSION, ...claims, sig: base64url(signature) };
}

function checkpointClaims(kid: string, head: { seq: number; hash: string }, time: Date): CheckpointClaims {
  const claims: CheckpointClaims = { seq: head.seq, hash: head.hash, time: time.toISOString(), kid };
  if (!areValidClaims(claims))
    throw new TypeError("a checkpoint needs a sequence number ≥ 1 and a SHA-256 hex hash");
  return claims;
}

/**
 * Reads an untrusted value (a parsed JSON file or line) as a checkpoint; undefined unless it has
 * exactly the checkpoint's members with the right types. The signature is not checked here.
 */
export function parseCheckpoint(value: unknown): SignedCheckpoint | undefined {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return undefined;
  const o = value as Record<string, unknown>;
  const keys = Object.keys(o).sort().join(",");
  if (keys !== "hash,kid,seq,sig,time,type,v") return undefined;
  if (o.type !== CHECKPOINT_TYPE || o.v !== CHECKPOINT_VERSION || typeof o.sig !== "string") return undefined;
  if (typeof o.seq !== "number" || typeof o.hash !== "string") return undefined;
  if (typeof o.time !== "string" || typeof o.kid !== "string") return undefined;
  const claims = { seq: o.seq, hash: o.hash, time: o.time, kid: o.kid };
  return areValidClaims(claims)
    ? { type: CHECKPOINT_TYPE, v: CHECKPOINT_VERSION, ...claims, sig: o.sig }
    : undefined;
}

function areValidClaims(c: CheckpointClaims): boolean {
  return (
    Number.isSafeInteger(c.seq) &&
    c.seq >= 1 &&
    HASH.test(c.hash) &&
    c.hash !== GENESIS_HASH &&
    ISO_TIME.test(c.time) &&
    !Number.isNaN(Date.parse(c.time)) &&
    KID.test(c.kid)
  );
}

/**
 * The public keys a verifier trusts. A key listed under its id only verifies checkpoints naming
 * that id; a key given without an id (`anyKid`) is tried for every checkpoint, because an auditor
 * handed a bare public key knows the key, not the name the bot gave it.
 */
export interface TrustedKeys {
  readonly byKid: ReadonlyMap<string, TrustedKey>;
  readonly anyKid: readonly Uint8Array[];
}

/**
 * A key trusted by its id. `untilSeq`: the key is trusted only for checkpoints up to that sequence
 * number — a key that signed both tokens and checkpoints before dbward gave each purpose its own
 * key still verifies the checkpoints it signed then, but cannot vouch for any later head (so a
 * leaked token key cannot forge a newer checkpoint).
 */
export interface TrustedKey extends PublicKey {
  readonly untilSeq?: number;
}

export type CheckpointSignatureVerdict =
  | { readonly ok: true }
  | { readonly ok: false; readonly reason: "unknown_key" | "bad_signature"; readonly message: string };

/** Checks a checkpoint's signature against trusted keys; never throws. */
export function verifyCheckpointSignature(
  cp: SignedCheckpoint,
  keys: TrustedKeys,
): CheckpointSignatureVerdict {
  const named = keys.byKid.get(cp.kid);
  const pastBound = named?.untilSeq !== undefined && cp.seq > named.untilSeq;
  const candidates = [...(named === undefined || pastBound ? [] : [named.publicKey]), ...keys.anyKid];
  if (candidates.length === 0) {
    return {
      ok: false,
      reason: "unknown_key",
      message: pastBound
        ? `checkpoint key id ${cp.kid} signed checkpoints only up to sequence ${named.untilSeq}, not ${cp.seq}`
        : `checkpoint key id ${cp.kid} is not among the trusted keys`,
    };
  }
  const sig = fromBase64url(cp.sig);
  const message = checkpointSigningBytes(cp);
  if (sig !== undefined && candidates.some((k) => verifySignature(k, message, sig))) return { ok: true };
  return {
    ok: false,
    reason: "bad_signature",
    message: `checkpoint at sequence ${cp.seq} has a bad signature`,
  };
}

export type CheckpointBreak =
  ChainBreak | "unknown_key" | "bad_signature" | "truncated" | "checkpoint_mismatch" | "not_covered";

export type CheckpointedVerdict =
  | {
      readonly ok: true;
      readonly count: number;
      readonly lastSeq: number;
      readonly lastHash: string;
      /** Sequence numbers of the checkpoints the chain was checked against. */
      readonly checkpoints: readonly number[];
    }
  | { readonly ok: false; readonly seq: number; readonly reason: CheckpointBreak; readonly message: string };

/**
 * Verifies a chain (from the genesis or from a signed anchor) against signed checkpoints, in
 * constant memory. Beyond the chain's own checks it reports:
 * - `truncated`: the chain ends before a checkpoint's sequence number (the newest events were
 *   deleted — the case a bare chain cannot catch);
 * - `checkpoint_mismatch`: the event at a checkpoint's sequence number has another hash (history
 *   up to the checkpoint was rewritten and re-hashed);
 * - `not_covered`: a checkpoint is older than the anchor, so these events cannot speak for it;
 * - `bad_signature` / `unknown_key`: a checkpoint (or the anchor) is not signed by a trusted key.
 */
export class CheckpointedChainVerifier {
  private readonly chain: ChainVerifier;
  private readonly pending: Map<number, SignedCheckpoint>;
  private readonly checked: number[] = [];
  private failure: CheckpointedVerdict | undefined;

  /**
   * `anchor` is the signed checkpoint the chain continues from when older events were purged or
   * left out of an export; undefined to start at the genesis.
   */
  constructor(checkpoints: readonly SignedCheckpoint[], keys: TrustedKeys, anchor?: SignedCheckpoint) {
    this.chain = new ChainVerifier(anchor);
    this.pending = new Map();
    if (anchor !== undefined) {
      const sig = verifyCheckpointSignature(anchor, keys);
      if (!sig.ok)
        this.failure = { ok: false, seq: anchor.seq, reason: sig.reason, message: `anchor: ${sig.message}` };
    }
    for (const cp of checkpoints) {
      const sig = verifyCheckpointSignature(cp, keys);
      if (!sig.ok) {
        this.failure ??= { ok: false, seq: cp.seq, reason: sig.reason, message: sig.message };
        continue;
      }
      if (anchor !== undefined && cp.seq < anchor.seq) {
        this.failure ??= {
          ok: false,
          seq: cp.seq,
          reason: "not_covered",
          message: `checkpoint at sequence ${cp.seq} is older than the anchor at ${anchor.seq}; these events cannot confirm it`,
        };
      } else if (anchor !== undefined && cp.seq === anchor.seq) {
        if (cp.hash !== anchor.hash) this.failure ??= mismatch(cp);
        else this.checked.push(cp.seq);
      } else {
        const other = this.pending.get(cp.seq);
        if (other !== undefined && other.hash !== cp.hash) this.failure ??= mismatch(cp);
        this.pending.set(cp.seq, cp);
      }
    }
  }

  /** Feeds the next event; returns false once verification has failed. */
  push(e: AuditEvent): boolean {
    if (this.failure !== undefined) return false;
    if (!this.chain.push(e)) return false;
    const cp = this.pending.get(e.seq);
    if (cp !== undefined) {
      if (cp.hash !== e.hash) {
        this.failure = mismatch(cp);
        return false;
      }
      this.pending.delete(e.seq);
      this.checked.push(e.seq);
    }
    return true;
  }

  /**
   * The sequence numbers of the checkpoints no event has met yet: what a scanner that verifies
   * the chain itself (the SQLite store's, verify-sqlite-store.ts) records the hashes of for
   * `settle`.
   */
  pendingSeqs(): ReadonlySet<number> {
    return new Set(this.pending.keys());
  }

  /**
   * The verdict `verdict()` would give had every event been pushed, for a chain verified elsewhere
   * (`chain`, a ChainVerifier's verdict from this verifier's anchor), given the hash of each event
   * the scan met at a `pendingSeqs` sequence number. A checkpoint the chain disagrees with before
   * the chain breaks is reported first, as pushing the events in order would. `malformedFirst`:
   * the scan's first row was not an event at all, which scanRetained reports before pushing it,
   * so before a checkpoint's own failure.
   */
  settle(
    chain: ChainVerdict,
    hashes: ReadonlyMap<number, string>,
    malformedFirst = false,
  ): CheckpointedVerdict {
    if (this.failure !== undefined) return malformedFirst && !chain.ok ? chain : this.failure;
    const metUpTo = chain.ok ? chain.lastSeq : chain.seq - 1;
    for (const seq of [...this.pending.keys()].sort((a, b) => a - b)) {
      const hash = seq <= metUpTo ? hashes.get(seq) : undefined;
      if (hash === undefined) continue;
      const cp = this.pending.get(seq) as SignedCheckpoint;
      if (cp.hash !== hash) return mismatch(cp);
      this.pending.delete(seq);
      this.checked.push(seq);
    }
    return this.finish(chain);
  }

  verdict(): CheckpointedVerdict {
    if (this.failure !== undefined) return this.failure;
    return this.finish(this.chain.verdict());
  }

  /** The verdict once the chain's own is known and every checkpoint it met has been checked. */
  private finish(chain: ChainVerdict): CheckpointedVerdict {
    if (!chain.ok) return chain;
    const missing = [...this.pending.keys()].sort((a, b) => a - b)[0];
    if (missing !== undefined) {
      return {
        ok: false,
        seq: chain.lastSeq + 1,
        reason: "truncated",
        message: `the chain ends at sequence ${chain.lastSeq}, but a signed checkpoint covers events up to ${missing}: the newest events were removed`,
      };
    }
    return { ...chain, checkpoints: [...new Set(this.checked)].sort((a, b) => a - b) };
  }
}

function mismatch(cp: SignedCheckpoint): CheckpointedVerdict {
  return {
    ok: false,
    seq: cp.seq,
    reason: "checkpoint_mismatch",
    message: `event ${cp.seq} does not have the hash its signed checkpoint records: history was rewritten`,
  };
}
