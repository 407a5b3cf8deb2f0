import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, test } from "node:test";
import SqliteDatabase from "better-sqlite3";
import { memorySigner, signingKeyFromSecret, type SignedCheckpoint } from "@dbward/shared";
import { inTransaction } from "../store/in-transaction.ts";
import { STORE_FILE, openStore, type Store } from "../store/open-store.ts";
import { takeCheckpoint } from "./audit-checkpoints.ts";
import { exportAudit } from "./audit-export.ts";
import { appendAudit } from "./audit-log.ts";
import { purgeExpiredAudit } from "./audit-retention.ts";
import { verifyExport, verifyStoreAgainstCheckpoints, type ExportVerdict } from "./verify-export.ts";

const T0 = Date.UTC(2024, 0, 1);
const HOUR = 3_600_000;
const KEY = memorySigner(signingKeyFromSecret(new Uint8Array(32).fill(5)), "checkpoints");
const KEYS = { byKid: new Map([[KEY.kid, { kid: KEY.kid, publicKey: KEY.publicKey }]]), anyKid: [] };
const hour = (n: number): Date => new Date(T0 + n * HOUR);

async function* linesOf(lines: readonly string[]): AsyncGenerator<string> {
  yield* lines;
}

describe("audit export and offline verification", () => {
  let dir: string;
  let store: Store;
  let raw: SqliteDatabase.Database;
  /** The checkpoint an auditor kept after event 12. */
  let kept: SignedCheckpoint;

  /** Events 1..14, event i at hour i; checkpoints at 6 and 12. */
  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), "dbward-export-"));
    store = openStore(dir);
    raw = new SqliteDatabase(join(dir, STORE_FILE));
    for (let i = 1; i <= 14; i++) {
      await inTransaction(store, (tx) =>
        appendAudit(
          tx,
          { actor: `user:u${i}`, action: "test.event", target: `t:${i}`, outcome: "success", details: { i } },
          hour(i),
        ),
      );
      if (i === 6 || i === 12)
        kept = (await takeCheckpoint(store, KEY, hour(i))) ?? assert.fail("checkpoint");
    }
  });
  afterEach(async () => {
    raw.close();
    await store.destroy();
    rmSync(dir, { recursive: true, force: true });
  });

  async function exported(since?: Date): Promise<string[]> {
    const lines: string[] = [];
    for await (const line of exportAudit(store, { now: hour(20), ...(since ? { since } : {}), pageSize: 4 }))
      lines.push(line);
    return lines;
  }
  const types = (lines: readonly string[]): string[] =>
    lines.map((l) => (JSON.parse(l) as { type: string }).type);
  const verify = (lines: readonly string[], extra: SignedCheckpoint[] = []): Promise<ExportVerdict> =>
    verifyExport(linesOf(lines), KEYS, extra);
  const assertBroken = (v: ExportVerdict, reason: string, seq?: number): void => {
    assert.equal(v.ok, false, "verification fails");
    assert.equal(!v.ok && v.reason, reason, JSON.stringify(v));
    if (seq !== undefined) assert.equal(!v.ok && "seq" in v && v.seq, seq);
  };

  test("exports a header, the newest checkpoint and every event, and verifies with the public key alone", async () => {
    const lines = await exported();
    assert.deepEqual(types(lines), ["header", "checkpoint", ...Array<string>(14).fill("event")]);
    const event = JSON.parse(lines[2] ?? "") as Record<string, unknown>;
    assert.deepEqual(Object.keys(event).sort(), [
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
    ]);
    const v = await verify(lines);
    assert.deepEqual(v, {
      ok: true,
      count: 14,
      lastSeq: 14,
      lastHash: (JSON.parse(lines.at(-1) ?? "") as { hash: string }).hash,
      checkpoints: [12],
      anchorSeq: undefined,
    });
  });

  test("detects an edited, a deleted and a reordered event line", async () => {
    const lines = await exported();
    assertBroken(
      await verify(lines.map((l, i) => (i === 5 ? l.replace('"user:u4"', '"user:mallory"') : l))),
      "hash_mismatch",
      4,
    );
    assertBroken(await verify(lines.filter((_, i) => i !== 6)), "sequence_gap", 6);
    const swapped = [...lines];
    [swapped[4], swapped[5]] = [lines[5] ?? "", lines[4] ?? ""];
    assertBroken(await verify(swapped), "sequence_gap", 4);
  });

  test("detects event lines cut off before the export's own checkpoint", async () => {
    const lines = await exported();
    assertBroken(await verify(lines.slice(0, 2 + 9)), "truncated", 10);
  });

  test("catches the newest events deleted from the store, with a checkpoint kept before the deletion", async () => {
    // Someone with the file removes events 10.. and every checkpoint that covered them.
    raw.prepare("DELETE FROM audit_events WHERE seq >= 10").run();
    raw.prepare("DELETE FROM audit_checkpoints WHERE seq >= 10").run();
    const lines = await exported();
    assert.equal((await verify(lines)).ok, true, "the shortened chain is consistent on its own");
    assertBroken(await verify(lines, [kept]), "truncated", 10);
    assertBroken(await verifyStoreAgainstCheckpoints(store, KEYS, [kept]), "truncated", 10);
  });

  test("catches history rewritten and re-hashed up to the newest event, with a kept checkpoint", async () => {
    const rows = raw.prepare("SELECT * FROM audit_events ORDER BY seq").all() as Record<string, unknown>[];
    assert.ok(rows.length === 14);
    // A forger with the file but without the key re-hashes everything after an edit at 3.
    const { chainEvent } = await import("@dbward/shared");
    let prev: { seq: number; hash: string } | undefined;
    const update = raw.prepare("UPDATE audit_events SET actor = ?, prev_hash = ?, hash = ? WHERE seq = ?");
    for (const r of rows) {
      const actor = r.seq === 3 ? "user:mallory" : String(r.actor);
      const e = chainEvent(
        prev,
        {
          actor,
          action: String(r.action),
          target: String(r.target),
          outcome: "success",
          details: JSON.parse(String(r.details)) as Record<string, unknown>,
        },
        new Date(String(r.time)),
      );
      update.run(e.actor, e.prevHash, e.hash, e.seq);
      prev = e;
    }
    raw.prepare("DELETE FROM audit_checkpoints").run();
    assertBroken(await verifyStoreAgainstCheckpoints(store, KEYS, [kept]), "checkpoint_mismatch", 12);
  });

  test("refuses a checkpoint signed by another key, or with an unknown key id", async () => {
    const forger = signingKeyFromSecret(new Uint8Array(32).fill(6), KEY.kid);
    const lines = (await exported()).map((l) => {
      const o = JSON.parse(l) as { type: string; checkpoint?: SignedCheckpoint };
      if (o.type !== "checkpoint" || o.checkpoint === undefined) return l;
      return JSON.stringify({ type: "checkpoint", checkpoint: { ...o.checkpoint, seq: 11 } });
    });
    assertBroken(await verify(lines), "bad_signature", 11);
    assertBroken(
      await verifyExport(linesOf(await exported()), { byKid: new Map(), anyKid: [forger.publicKey] }),
      "bad_signature",
    );
    assertBroken(
      await verifyExport(linesOf(await exported()), { byKid: new Map(), anyKid: [] }),
      "unknown_key",
    );
  });

  test("starts an export with --since at the checkpoint just before it, and it verifies from that anchor", async () => {
    const lines = await exported(hour(9.5));
    assert.deepEqual(types(lines).slice(0, 3), ["header", "anchor", "checkpoint"]);
    const first = JSON.parse(lines[3] ?? "") as { seq: number };
    assert.equal(first.seq, 7, "events start right after the checkpoint at 6, before --since");
    const v = await verify(lines);
    assert.deepEqual(v.ok && [v.count, v.anchorSeq, v.checkpoints], [8, 6, [12]]);
    assertBroken(await verify(lines.filter((_, i) => i !== 1)), "sequence_gap", 7);
  });

  test("exports a purged store from its anchor, and that export verifies", async () => {
    await purgeExpiredAudit(store, 1, hour(48));
    const lines = await exported();
    assert.deepEqual(types(lines).slice(0, 3), ["header", "anchor", "checkpoint"]);
    const v = await verify(lines, [kept]);
    assert.deepEqual(v.ok && [v.anchorSeq, v.lastSeq, v.checkpoints], [12, 15, [12]]);
  });

  test("refuses what is not an export: no header, a malformed line, a checkpoint after the events", async () => {
    const lines = await exported();
    assertBroken(await verify(lines.slice(1)), "malformed");
    assertBroken(await verify([]), "malformed");
    assertBroken(await verify([...lines.slice(0, 4), "{not json", ...lines.slice(4)]), "malformed");
    assertBroken(await verify([lines[0] ?? "", ...lines.slice(2), lines[1] ?? ""]), "malformed");
    const extra = lines.map((l, i) =>
      i === 3 ? l.replace('"type":"event"', '"type":"event","extra":1') : l,
    );
    assertBroken(await verify(extra), "malformed");
  });
});
