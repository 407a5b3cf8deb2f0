/**
 * The NDJSON audit export format (docs/audit.md), version 1: one JSON object per line, each with
 * a `type` — `header`, `anchor`, `checkpoint` or `event`. Events carry exactly what their hash
 * covers, so a verifier recomputes every hash from the line alone.
 */
import {
  AUDIT_OUTCOMES,
  parseCheckpoint,
  type AuditEvent,
  type AuditEventView,
  type AuditOutcome,
  type SignedCheckpoint,
} from "@dbward/shared";

export const EXPORT_FORMAT = "dbward-audit-export";
export const EXPORT_VERSION = 1;

export type ExportLine =
  | {
      type: "header";
      format: typeof EXPORT_FORMAT;
      v: typeof EXPORT_VERSION;
      exported_at: string;
      since: string | null;
    }
  | { type: "anchor" | "checkpoint"; checkpoint: SignedCheckpoint }
  | ({ type: "event" } & AuditEventView);

export function exportLine(line: ExportLine): string {
  return JSON.stringify(line);
}

export type ParsedLine =
  | { readonly kind: "header" }
  | { readonly kind: "anchor" | "checkpoint"; readonly checkpoint: SignedCheckpoint }
  | { readonly kind: "event"; readonly event: AuditEvent }
  | { readonly kind: "invalid"; readonly message: string };

const HASH = /^[0-9a-f]{64}$/;

/** Reads one line; anything unexpected is `invalid` with a reason, never an exception. */
export function parseExportLine(text: string): ParsedLine {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { kind: "invalid", message: "not JSON" };
  }
  if (typeof value !== "object" || value === null || Array.isArray(value))
    return { kind: "invalid", message: "not a JSON object" };
  const o = value as Record<string, unknown>;
  switch (o.type) {
    case "header":
      return o.format === EXPORT_FORMAT && o.v === EXPORT_VERSION
        ? { kind: "header" }
        : { kind: "invalid", message: `not a ${EXPORT_FORMAT} v${EXPORT_VERSION} header` };
    case "anchor":
    case "checkpoint": {
      const checkpoint = parseCheckpoint(o.checkpoint);
      return checkpoint === undefined
        ? { kind: "invalid", message: `malformed ${o.type} checkpoint` }
        : { kind: o.type, checkpoint };
    }
    case "event": {
      const event = parseEvent(o);
      return event === undefined ? { kind: "invalid", message: "malformed event" } : { kind: "event", event };
    }
    default:
      return { kind: "invalid", message: "unknown line type" };
  }
}

const EVENT_KEYS = [
  "action",
  "actor",
  "details",
  "hash",
  "outcome",
  "prev_hash",
  "seq",
  "target",
  "time",
  "type",
];

/** Exactly these own members, no more and no fewer (without sorting the keys of every line). */
function hasExactly(o: Record<string, unknown>, keys: readonly string[]): boolean {
  return Object.keys(o).length === keys.length && keys.every((k) => Object.hasOwn(o, k));
}

function parseEvent(o: Record<string, unknown>): AuditEvent | undefined {
  const { seq, time, actor, action, target, outcome, details, prev_hash, hash } = o;
  if (!hasExactly(o, EVENT_KEYS)) return undefined;
  if (typeof seq !== "number" || !Number.isSafeInteger(seq) || seq < 1) return undefined;
  if (typeof time !== "string" || typeof actor !== "string" || typeof action !== "string") return undefined;
  if (typeof target !== "string" || !(AUDIT_OUTCOMES as readonly unknown[]).includes(outcome))
    return undefined;
  if (typeof details !== "object" || details === null || Array.isArray(details)) return undefined;
  if (typeof prev_hash !== "string" || !HASH.test(prev_hash) || typeof hash !== "string" || !HASH.test(hash))
    return undefined;
  return {
    seq,
    time,
    actor,
    action,
    target,
    outcome: outcome as AuditOutcome,
    details: details as Record<string, unknown>,
    prevHash: prev_hash,
    hash,
  };
}
