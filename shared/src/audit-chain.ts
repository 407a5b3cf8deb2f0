/**
 * The audit hash chain. Each event's hash is SHA-256 over the canonical JSON of the versioned
 * tuple (chain version, sequence, time, actor, action, target, outcome, details, previous hash).
 * The first event links to 64 zeros. Editing any field, deleting or reordering events breaks the
 * chain at the first affected sequence number; deleting the newest events is only detectable
 * against a signed checkpoint (see audit-checkpoint.ts).
 */
import { canonicalJson } from "./canonical-json.ts";
import { sha256Hex } from "./encoding.ts";

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
  return sha256Hex(
    canonicalJson({
      v: CHAIN_VERSION,
      seq: e.seq,
      time: e.time,
      actor: e.actor,
      action: e.action,
      target: e.target,
      outcome: e.outcome,
      details: e.details,
      prev: e.prevHash,
    }),
  );
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

export type ChainBreak = "hash_mismatch" | "broken_link" | "sequence_gap";

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
    const fail = (reason: ChainBreak, message: string): false => {
      this.failure = { ok: false, seq: e.seq, reason, message };
      return false;
    };
    if (e.seq !== this.expectedSeq) {
      return fail("sequence_gap", `expected sequence ${this.expectedSeq}, found ${e.seq}`);
    }
    if (e.prevHash !== this.prevHash)
      return fail("broken_link", `event ${e.seq} does not link to its predecessor`);
    if (hashAuditEvent(e) !== e.hash) return fail("hash_mismatch", `event ${e.seq} does not match its hash`);
    this.prevHash = e.hash;
    this.expectedSeq += 1;
    this.count += 1;
    return true;
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
