/**
 * `dbward audit export` and `GET /api/audit/export`: the audit chain as NDJSON, for a SIEM and
 * for an auditor who verifies it offline with only the bot's public key (verify-export.ts).
 *
 * Lines, in this order (format in export-format.ts):
 * 1. the header;
 * 2. the anchor — the signed checkpoint the events continue from — when they do not start at
 *    sequence 1 (retention purged the older ones, or `since` left them out);
 * 3. the newest signed checkpoint, when there is one;
 * 4. every event after the anchor, with its hashes, up to the head (at least up to the checkpoint).
 *
 * `since` is rounded down to a signed checkpoint so that the export verifies on its own: the
 * events start right after the newest checkpoint whose event is older than `since`, and so may
 * include some events from a little before it.
 */
import type { Kysely } from "kysely";
import type { Database } from "../store/tables.ts";
import { checkpointAtOrBefore, latestCheckpoint } from "./audit-checkpoints.ts";
import { listAudit, toAuditEventView } from "./audit-log.ts";
import { exportLine } from "./export-format.ts";
import { findRetainedAnchor } from "./retained-anchor.ts";

export interface ExportOptions {
  readonly since?: Date;
  readonly now: Date;
  readonly pageSize?: number;
}

export async function* exportAudit(db: Kysely<Database>, o: ExportOptions): AsyncGenerator<string> {
  const retained = await findRetainedAnchor(db);
  // A store whose front is missing without an anchor is exported as it is: the verifier says so.
  let anchor = retained.ok ? retained.anchor : undefined;
  if (o.since !== undefined) {
    const before = await db
      .selectFrom("audit_events")
      .select("seq")
      .where("time", "<", o.since.toISOString())
      .orderBy("seq", "desc")
      .limit(1)
      .executeTakeFirst();
    const floor = anchor?.seq ?? 0;
    if (before !== undefined && before.seq > floor)
      anchor = (await checkpointAtOrBefore(db, before.seq, floor)) ?? anchor;
  }
  yield exportLine({
    type: "header",
    format: "dbward-audit-export",
    v: 1,
    exported_at: o.now.toISOString(),
    since: o.since?.toISOString() ?? null,
  });
  if (anchor !== undefined) yield exportLine({ type: "anchor", checkpoint: anchor });
  const checkpoint = await latestCheckpoint(db);
  if (checkpoint !== undefined) yield exportLine({ type: "checkpoint", checkpoint });
  let after = anchor?.seq ?? 0;
  for (;;) {
    const page = await listAudit(db, { afterSeq: after, limit: o.pageSize ?? 1000 });
    for (const e of page) {
      yield exportLine({ type: "event", ...toAuditEventView(e) });
    }
    const last = page.at(-1);
    if (last === undefined) return;
    after = last.seq;
  }
}
