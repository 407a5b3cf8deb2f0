/**
 * The audit hash chain. Each event's hash is SHA-256 over the canonical JSON of the versioned
 * tuple (chain version, sequence, time, actor, action, target, outcome, details, previous hash).
 * The first event links to 64 zeros. Editing any field, deleting or reordering events breaks the
 * chain at the first affected sequence number; deleting the newest events is only detectable
 * against a signed checkpoint (see audit-checkpoint.ts).
 */
import { hash } from "node:crypto";
import { canonicalJson } from "./canonical-json.ts";

export const CHAIN_VERSION = 1;
export const GENESIS_HASH = "0".repeat(64);

export const AUDIT_OUTCOMES = ["success", "failure", "denied"] as const;
export type AuditOutcome = (typeof AUDIT_OUTCOMES)[number];

/** An event's content, before it is placed in the chain. */
export interface AuditEventInput {
  /** Who did it: `user:alice`, `agent:agent-1`, `system`, `slack:U123` for unlinked callers. */
  readonly actor: string;
  /** Dotted verb: `request.created`, `request.approved`, `auth.failed`, … */
  readonly action: string;
  /** What it was done to: `request:42`, `user:bob`, … (empty string when nothing). */
  readonly target: string;
  readonly outcome: AuditOutcome;
  /** Free-form JSON details; canonical-JSON encodable. */
  readonly details: Readonly<Record<string, unknown>>;
}

/** An event as stored: content plus its place in the chain. */
export interface AuditEvent extends AuditEventInput {
  readonly seq: number;
  /** ISO 8601 UTC time with milliseconds. */
  readonly time: string;
  readonly prevHash: string;
  readonly hash: string;
}

/** The hash of an event given its content, place and predecessor. */
export function hashAuditEvent(e: Omit<AuditEvent, "hash">): string {
  return hash("sha256", auditHashInput(e), "hex");
}

/**
 * The exact text `hashAuditEvent` hashes: the canonical JSON (canonical-json.ts) of the versioned
 * tuple, keys in canonical order (`action`, `actor`, `details`, `outcome`, `prev`, `seq`, `target`,
 * `time`, `v`).
 *
 * Verification hashes every event of a chain, so the common case is written out: when every
 * member is a plain JSON value and every object in `details` already has its keys in canonical
 * order (as details read back from their stored canonical text do), `JSON.stringify` of the tuple
 * built in canonical key order is byte for byte the canonical JSON. Anything else — keys out of
 * order, a `Date`, an `undefined`, a class instance — goes through `canonicalJson` itself, which
 * sorts, converts or refuses exactly as it always has. Tests hold both ways to the same text.
 */
export function auditHashInput(e: Omit<AuditEvent, "hash">): string {
  const tuple = {
    action: e.action,
    actor: e.actor,
    details: e.details,
    outcome: e.outcome,
    prev: e.prevHash,
    seq: e.seq,
    target: e.target,
    time: e.time,
    v: CHAIN_VERSION,
  };
  return hasPlainMembers(e) && isCanonicalOrdered(e.details, 0)
    ? JSON.stringify(tuple)
    : canonicalJson(tuple);
}

function hasPlainMembers(e: Omit<AuditEvent, "hash" | "details">): boolean {
  return (
    typeof e.action === "string" &&
    typeof e.actor === "string" &&
    typeof e.outcome === "string" &&
    typeof e.prevHash === "string" &&
    typeof e.seq === "number" &&
    Number.isFinite(e.seq) &&
    typeof e.target === "string" &&
    typeof e.time === "string"
  );
}

/** Deeper than this, the fast path hands over to canonicalJson rather than recursing further. */
const MAX_FAST_DEPTH = 64;

/**
 * True when `JSON.stringify(value)` is already `canonicalJson(value)`: JSON values only (finite
 * numbers, dense arrays, plain objects without symbol keys or a `toJSON` to call), every object's
 * keys in ascending UTF-16 order as `Object.keys` lists them. False is never wrong, only slower.
 */
function isCanonicalOrdered(value: unknown, depth: number): boolean {
  switch (typeof value) {
    case "string":
    case "boolean":
      return true;
    case "number":
      return Number.isFinite(value);
    case "object":
      break;
    default:
      return false;
  }
  if (value === null) return true;
  if (depth > MAX_FAST_DEPTH || typeof (value as { toJSON?: unknown }).toJSON === "function") return false;
  if (Array.isArray(value)) {
    // A hole reads as undefined, which is refused here (canonicalJson refuses it; JSON.stringify
    // would write null).
    for (let i = 0; i < value.length; i++) if (!isCanonicalOrdered(value[i], depth + 1)) return false;
    return true;
  }
  const proto: unknown = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) return false;
  if (Object.getOwnPropertySymbols(value).length > 0) return false;
  const keys = Object.keys(value);
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i] as string;
    if (i > 0 && !((keys[i - 1] as string) < key)) return false;
    if (!isCanonicalOrdered((value as Record<string, unknown>)[key], depth + 1)) return false;
  }
  return true;
}

/** Builds the next event after `last` (or the genesis event when `last` is undefined). */
export function chainEvent(
  last: { seq: number; hash: string } | undefined,
  input: AuditEventInput,
  time: Date,
): AuditEvent {
  const base = {
    ...input,
    seq: last === undefined ? 1 : last.seq + 1,
    time: time.toISOString(),
    prevHash: last?.hash ?? GENESIS_HASH,
  };
  return { ...base, hash: hashAuditEvent(base) };
}

/**
 * Why a chain broke. `malformed_event`: what was read as the event is not one — a field of the
 * wrong type, an outcome that is not one of AUDIT_OUTCOMES, a value that cannot be encoded.
 */
export type ChainBreak = "hash_mismatch" | "broken_link" | "sequence_gap" | "malformed_event";

export type ChainVerdict =
  | { readonly ok: true; readonly count: number; readonly lastSeq: number; readonly lastHash: string }
  | { readonly ok: false; readonly seq: number; readonly reason: ChainBreak; readonly message: string };

/**
 * Incremental verifier, so a chain of any length verifies in constant memory. Start it at the
 * genesis, or at an anchor (a signed checkpoint) when older events were purged.
 */
export class ChainVerifier {
  private expectedSeq: number;
  private prevHash: string;
  private count = 0;
  private failure: ChainVerdict | undefined;

  constructor(anchor?: { seq: number; hash: string }) {
    this.expectedSeq = anchor === undefined ? 1 : anchor.seq + 1;
    this.prevHash = anchor?.hash ?? GENESIS_HASH;
  }

  /** Feeds the next event; returns false once the chain has broken. */
  push(e: AuditEvent): boolean {
    if (this.failure !== undefined) return false;
    if (e.seq !== this.expectedSeq)
      return this.fail(e, "sequence_gap", `expected sequence ${this.expectedSeq}, found ${e.seq}`);
    if (e.prevHash !== this.prevHash)
      return this.fail(e, "broken_link", `event ${e.seq} does not link to its predecessor`);
    let actual: string;
    try {
      actual = hashAuditEvent(e);
    } catch (err) {
      // canonicalJson refuses what it cannot encode: a verdict on this event, not a crash.
      const why = err instanceof Error ? err.message : String(err);
      return this.fail(e, "malformed_event", `event ${e.seq} cannot be encoded: ${why}`);
    }
    if (actual !== e.hash) return this.fail(e, "hash_mismatch", `event ${e.seq} does not match its hash`);
    this.prevHash = e.hash;
    this.expectedSeq += 1;
    this.count += 1;
    return true;
  }

  // A method, not a closure made per event: push runs once for every event of the chain.
  private fail(e: AuditEvent, reason: ChainBreak, message: string): false {
    this.failure = { ok: false, seq: e.seq, reason, message };
    return false;
  }

  verdict(): ChainVerdict {
    return (
      this.failure ?? { ok: true, count: this.count, lastSeq: this.expectedSeq - 1, lastHash: this.prevHash }
    );
  }
}

/** Verifies a whole chain held in memory. */
export function verifyChain(
  events: Iterable<AuditEvent>,
  anchor?: { seq: number; hash: string },
): ChainVerdict {
  const v = new ChainVerifier(anchor);
  for (const e of events) if (!v.push(e)) break;
  return v.verdict();
}
