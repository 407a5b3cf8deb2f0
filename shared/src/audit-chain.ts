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
 * sorts, converts or refuses exactly as it always has. An event read back from the store
 * (`StoredAuditEvent`) whose details text is plainly canonical has that text spliced in as it
 * stands, unparsed. Tests hold every way to the same text.
 */
export function auditHashInput(e: Omit<AuditEvent, "hash"> | StoredAuditEvent): string {
  if (
    "detailsJson" in e &&
    typeof e.detailsJson === "string" &&
    hasPlainMembers(e) &&
    isCanonicalDetailsText(e.detailsJson)
  ) {
    return `{"action":${quoted(e.action)},"actor":${quoted(e.actor)},"details":${e.detailsJson},${quotedRest(
      quoted(e.outcome),
      quoted(e.prevHash),
      JSON.stringify(e.seq),
      quoted(e.target),
      quoted(e.time),
    )}`;
  }
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

/** The tuple after `details`, its members already written as JSON. */
function quotedRest(outcome: string, prev: string, seq: string, target: string, time: string): string {
  return `"outcome":${outcome},"prev":${prev},"seq":${seq},"target":${target},"time":${time},"v":${CHAIN_VERSION}}`;
}

/**
 * The text `auditHashInput` gives an event whose string members are all `isPlainJsonText` and
 * whose details text is `isCanonicalDetailsText`, from the members as they stand: for a verifier
 * that reads stored rows and checks those two things itself (the one template, not a copy).
 */
export function plainAuditHashInput(
  action: string,
  actor: string,
  detailsJson: string,
  outcome: string,
  prevHash: string,
  seq: number,
  target: string,
  time: string,
): string {
  return `{"action":"${action}","actor":"${actor}","details":${detailsJson},${quotedRest(
    `"${outcome}"`,
    `"${prevHash}"`,
    String(seq),
    `"${target}"`,
    `"${time}"`,
  )}`;
}

/** Whether JSON.stringify writes `s` as it stands between quotes (nothing to escape). */
export function isPlainJsonText(s: unknown): s is string {
  if (typeof s !== "string") return false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || c === 0x22 || c === 0x5c || (c >= 0xd800 && c <= 0xdfff)) return false;
  }
  return true;
}

/** `JSON.stringify(s)`, without its cost for the usual string that has nothing to escape. */
function quoted(s: string): string {
  return isPlainJsonText(s) ? `"${s}"` : JSON.stringify(s);
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

/**
 * An event read back from a store that keeps its details as canonical JSON text: `detailsJson` is
 * that text, and `details` what it parses to. When the text is plainly canonical (below), it is
 * hashed as it stands instead of being parsed and encoded again.
 */
export interface StoredAuditEvent extends AuditEvent {
  readonly detailsJson: string;
}

/**
 * True only when `text` is certainly `canonicalJson(JSON.parse(text))` and a JSON object: no
 * whitespace; keys in strictly ascending UTF-16 order (so no duplicates); strings without any
 * escape, control character or surrogate (so their text is their value, and JSON.stringify would
 * write them unchanged); numbers only as integers of at most 15 digits without a sign on zero
 * (exact in a double, and written back the same). Anything else — an escape, a fraction, an
 * exponent, an emoji — is false, which is never wrong: the caller parses and encodes instead.
 */
export function isCanonicalDetailsText(text: string): boolean {
  if (text.charCodeAt(0) !== 0x7b) return false;
  return scanValue(text, 0, 0) === text.length;
}

/** Index just after the canonical value at `i`, or -1. */
function scanValue(t: string, i: number, depth: number): number {
  const c = t.charCodeAt(i);
  if (c === 0x22) return scanString(t, i);
  if (c === 0x7b) return depth > MAX_FAST_DEPTH ? -1 : scanObject(t, i, depth);
  if (c === 0x5b) return depth > MAX_FAST_DEPTH ? -1 : scanArray(t, i, depth);
  if (c === 0x74) return t.startsWith("true", i) ? i + 4 : -1;
  if (c === 0x66) return t.startsWith("false", i) ? i + 5 : -1;
  if (c === 0x6e) return t.startsWith("null", i) ? i + 4 : -1;
  return scanInteger(t, i);
}

function scanString(t: string, i: number): number {
  for (let j = i + 1; j < t.length; j++) {
    const c = t.charCodeAt(j);
    if (c === 0x22) return j + 1;
    if (c < 0x20 || c === 0x5c || (c >= 0xd800 && c <= 0xdfff)) return -1;
  }
  return -1;
}

function scanInteger(t: string, i: number): number {
  let j = t.charCodeAt(i) === 0x2d ? i + 1 : i;
  const first = t.charCodeAt(j);
  if (first === 0x30) return j === i ? i + 1 : -1; // "0" is canonical, "-0" is written "0"
  if (!(first >= 0x31 && first <= 0x39)) return -1;
  const start = j;
  while (j < t.length && t.charCodeAt(j) >= 0x30 && t.charCodeAt(j) <= 0x39) j++;
  if (j - start > 15) return -1;
  const next = t.charCodeAt(j);
  // A fraction or an exponent follows: not an integer, so not this fast path.
  return next === 0x2e || next === 0x65 || next === 0x45 ? -1 : j;
}

function scanObject(t: string, i: number, depth: number): number {
  let j = i + 1;
  if (t.charCodeAt(j) === 0x7d) return j + 1;
  let previousKey: string | undefined;
  for (;;) {
    if (t.charCodeAt(j) !== 0x22) return -1;
    const keyEnd = scanString(t, j);
    if (keyEnd < 0 || t.charCodeAt(keyEnd) !== 0x3a) return -1;
    const key = t.slice(j + 1, keyEnd - 1);
    if (previousKey !== undefined && !(previousKey < key)) return -1;
    previousKey = key;
    j = scanValue(t, keyEnd + 1, depth + 1);
    if (j < 0) return -1;
    const c = t.charCodeAt(j);
    if (c === 0x7d) return j + 1;
    if (c !== 0x2c) return -1;
    j += 1;
  }
}

function scanArray(t: string, i: number, depth: number): number {
  let j = i + 1;
  if (t.charCodeAt(j) === 0x5d) return j + 1;
  for (;;) {
    j = scanValue(t, j, depth + 1);
    if (j < 0) return -1;
    const c = t.charCodeAt(j);
    if (c === 0x5d) return j + 1;
    if (c !== 0x2c) return -1;
    j += 1;
  }
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
