/**
 * The free text of audit events in an encrypted store (docs/security-hardening.md, "Encrypted
 * state at rest"): an approver's comment, a rejection, cancel, suspension or break-glass reason, a
 * join reason, a denial's message, a failed execution's database error message. Those are typed
 * by people or echo the SQL's literals, so with DBWARD_STATE_KEY every string under a
 * FREE_TEXT_KEYS key, at any depth of `details`, is sealed before the event is hashed.
 *
 * The chain hashes the details as stored, sealed text included: `dbward audit verify`, the fast
 * SQLite verifier and an export's offline verification need no key, and a changed sealed value
 * breaks the chain as any changed byte does. Readers with the key (GET /api/audit) open them. The
 * AAD is the event's sequence number and the value's path, so a sealed comment moved into another
 * event or another field does not open there. Everything else in details (ids, codes, counts,
 * times, step numbers) stays in the clear: the chain's meaning must be readable without a key.
 */
import type { AuditEvent, AuditEventInput } from "@dbward/shared";
import type { Kysely } from "kysely";
import type { Database } from "../store/tables.ts";
import { isSealedText } from "./sealed-value.ts";
import { assertClearStore, placeOf, stateCipherOf } from "./state-cipher.ts";

/** Keys whose string values are free text: sealed wherever they appear in an event's details. */
export const FREE_TEXT_KEYS: ReadonlySet<string> = new Set(["reason", "comment", "message"]);

type Handle = Pick<Kysely<Database>, "getExecutor">;

const detailPlace = (seq: number, path: string): string => placeOf("audit_events", `details.${path}`, seq);

/**
 * `input` as event `seq` stores it: its free text sealed when the store is encrypted. A handle
 * without the keys appends free text only after checking, in the event's transaction, that the
 * store has no data key (an instance started before another made one): never clear into an
 * encrypted chain.
 */
export async function sealAuditInput(
  db: Handle & Pick<Kysely<Database>, "selectFrom">,
  seq: number,
  input: AuditEventInput,
): Promise<AuditEventInput> {
  const cipher = stateCipherOf(db);
  if (input.details === undefined) return input;
  if (cipher === undefined) {
    if (hasFreeText(input.details)) await assertClearStore(db);
    return input;
  }
  const details = mapFreeText(input.details, "", (path, text) =>
    cipher.sealText(detailPlace(seq, path), text),
  ) as Record<string, unknown>;
  return { ...input, details };
}

/**
 * `event` with its sealed free text in the clear, for a reader holding the key. Without the key
 * (or for a value that does not open) the stored text is shown as it is: a reader of the audit log
 * must still see the event; its hash still names the stored bytes.
 */
export function openAuditEvent(db: Handle, event: AuditEvent): AuditEvent {
  const cipher = stateCipherOf(db);
  if (cipher === undefined) return event;
  const details = mapFreeText(event.details, "", (path, text) => {
    if (!isSealedText(text)) return text;
    try {
      return cipher.openText(detailPlace(event.seq, path), text);
    } catch {
      return text;
    }
  }) as Record<string, unknown>;
  return { ...event, details };
}

/** True when `details` carries free text that sealing would change (then it differs per append). */
export function hasFreeText(details: unknown): boolean {
  let found = false;
  mapFreeText(details, "", (_p, text) => {
    found = true;
    return text;
  });
  return found;
}

function mapFreeText(value: unknown, path: string, f: (path: string, text: string) => string): unknown {
  if (Array.isArray(value)) return value.map((v, i) => mapFreeText(v, `${path}${path ? "." : ""}${i}`, f));
  if (typeof value !== "object" || value === null) return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    const at = `${path}${path ? "." : ""}${k}`;
    out[k] = FREE_TEXT_KEYS.has(k) && typeof v === "string" && v !== "" ? f(at, v) : mapFreeText(v, at, f);
  }
  return out;
}

/**
 * hasAuditEvent for details with free text in an encrypted store: a sealed value differs at every
 * append (a fresh nonce), so the stored JSON is never equal to a new sealing; the events with the
 * same action and target are opened and compared instead (an agent's repeated report: a few rows).
 */
export async function hasSealedAuditEvent(
  db: Kysely<Database>,
  e: Pick<AuditEventInput, "action" | "target" | "details">,
  canonical: (v: unknown) => string,
  parse: (text: string) => Record<string, unknown>,
): Promise<boolean | undefined> {
  if (stateCipherOf(db) === undefined || !hasFreeText(e.details ?? {})) return undefined;
  const want = canonical(e.details ?? {});
  const rows = await db
    .selectFrom("audit_events")
    .selectAll()
    .where("target", "=", e.target)
    .where("action", "=", e.action)
    .execute();
  return rows.some((r) => {
    const opened = openAuditEvent(db, {
      seq: r.seq,
      time: r.time,
      actor: r.actor,
      action: r.action,
      target: r.target,
      outcome: "success",
      details: parse(r.details),
      prevHash: r.prev_hash,
      hash: r.hash,
    });
    return canonical(opened.details) === want;
  });
}
