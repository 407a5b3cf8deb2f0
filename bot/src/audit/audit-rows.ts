/**
 * Reading `audit_events` rows for verification. Every column is checked for its type here, once,
 * without a schema library (this runs for every event of the chain): a row that is not an event —
 * a BLOB where text belongs, an outcome outside AUDIT_OUTCOMES, a sequence number that is not an
 * integer — comes back as `MalformedAuditRow` naming its sequence number, for the verifier to
 * report as a break there, never as a crash and never as an event that passes.
 *
 * `details` is stored as canonical JSON text, and parsed only when asked for. Text that is not a
 * JSON object is kept, as `{ _unparsable: text }`, so that the event fails by its hash at its own
 * sequence number like any other edited field.
 */
import { AUDIT_OUTCOMES, type AuditEvent, type AuditOutcome, type StoredAuditEvent } from "@dbward/shared";

export interface MalformedAuditRow {
  /** What is wrong with the row, for a person. */
  readonly malformed: string;
  /** The row's sequence number, when it has a usable one. */
  readonly seq: number | undefined;
}

export type AuditRow = AuditEvent | MalformedAuditRow;

export function isMalformedRow(r: AuditRow): r is MalformedAuditRow {
  return "malformed" in r;
}

/** The columns of `audit_events`, in this order, as every verify query selects them. */
export const AUDIT_COLUMNS = "seq, time, actor, action, target, outcome, details, prev_hash, hash";

const OUTCOMES: ReadonlySet<unknown> = new Set(AUDIT_OUTCOMES);

/** One row, its columns in AUDIT_COLUMNS order (a raw better-sqlite3 row). */
export function parseAuditRowValues(r: unknown): AuditRow {
  if (!Array.isArray(r) || r.length !== 9)
    return { malformed: "a row does not have the audit columns", seq: undefined };
  return parseAuditColumns(r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8]);
}

/** One row as an object keyed by column name (Kysely's rows). */
export function parseAuditRowObject(r: Readonly<Record<string, unknown>>): AuditRow {
  return parseAuditColumns(
    r.seq,
    r.time,
    r.actor,
    r.action,
    r.target,
    r.outcome,
    r.details,
    r.prev_hash,
    r.hash,
  );
}

// Positional, so that neither row shape needs an intermediate object per event.
function parseAuditColumns(
  seq: unknown,
  time: unknown,
  actor: unknown,
  action: unknown,
  target: unknown,
  outcome: unknown,
  details: unknown,
  prevHash: unknown,
  hash: unknown,
): AuditRow {
  if (typeof seq !== "number" || !Number.isSafeInteger(seq))
    return { malformed: `a row has the sequence number ${describe(seq)}`, seq: undefined };
  if (
    typeof time !== "string" ||
    typeof actor !== "string" ||
    typeof action !== "string" ||
    typeof target !== "string" ||
    typeof details !== "string" ||
    typeof prevHash !== "string" ||
    typeof hash !== "string"
  ) {
    const wrong = Object.entries({ time, actor, action, target, details, prev_hash: prevHash, hash })
      .filter(([, v]) => typeof v !== "string")
      .map(([k, v]) => `${k} is ${describe(v)}`);
    return { malformed: `event ${seq} is not an event: ${wrong.join(", ")}, not text`, seq };
  }
  if (!isAuditOutcome(outcome))
    return {
      malformed: `event ${seq} is not an event: its outcome ${describe(outcome)} is not one of ${AUDIT_OUTCOMES.join(", ")}`,
      seq,
    };
  return new StoredEvent(seq, time, actor, action, target, outcome, details, prevHash, hash);
}

/**
 * A row that is an event. Its details are parsed only when something asks for them: the chain
 * hashes the stored canonical text as it stands whenever it plainly is canonical
 * (`StoredAuditEvent` in audit-chain.ts), and most events are never asked for their details.
 */
class StoredEvent implements StoredAuditEvent {
  #details: Record<string, unknown> | undefined;

  // Positional, like parseAuditColumns.
  constructor(
    readonly seq: number,
    readonly time: string,
    readonly actor: string,
    readonly action: string,
    readonly target: string,
    readonly outcome: AuditOutcome,
    readonly detailsJson: string,
    readonly prevHash: string,
    readonly hash: string,
  ) {}

  get details(): Record<string, unknown> {
    this.#details ??= parseDetails(this.detailsJson);
    return this.#details;
  }
}

function isAuditOutcome(v: unknown): v is AuditOutcome {
  return OUTCOMES.has(v);
}

function parseDetails(text: string): Record<string, unknown> {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return { _unparsable: text };
  }
  return typeof v === "object" && v !== null && !Array.isArray(v)
    ? (v as Record<string, unknown>)
    : { _unparsable: text };
}

function describe(v: unknown): string {
  if (v === null) return "NULL";
  if (typeof v === "string") return JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v);
  if (typeof v === "number" || typeof v === "bigint") return String(v);
  if (v instanceof Uint8Array) return `a ${v.byteLength}-byte BLOB`;
  return typeof v;
}
