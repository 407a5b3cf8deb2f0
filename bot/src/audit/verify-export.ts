/**
 * Offline verification with only the bot's public key: an NDJSON export (export-format.ts), or
 * the store itself, checked against signed checkpoints — the export's own and any the auditor
 * kept elsewhere. Kept checkpoints are what catch the removal of the newest events: an export
 * made after such a removal carries no checkpoint that covers them, but a kept one does.
 */
import {
  CheckpointedChainVerifier,
  type CheckpointedVerdict,
  type SignedCheckpoint,
  type TrustedKeys,
} from "@dbward/shared";
import type { Kysely } from "kysely";
import type { Database } from "../store/tables.ts";
import { listCheckpoints, storedPublicKeys } from "./audit-checkpoints.ts";
import { scanRetained } from "./audit-log.ts";
import { withAuditSnapshot } from "./audit-snapshot.ts";
import { parseExportLine } from "./export-format.ts";
import { findRetainedAnchor } from "./retained-anchor.ts";
import { verifySqliteFileStoreCheckpointed } from "./verify-sqlite-store.ts";

export type ExportVerdict =
  | (Extract<CheckpointedVerdict, { ok: true }> & { readonly anchorSeq: number | undefined })
  | Extract<CheckpointedVerdict, { ok: false }>
  | { readonly ok: false; readonly line: number; readonly reason: "malformed"; readonly message: string };

/**
 * Verifies an export read line by line, in constant memory. The anchor and checkpoint lines must
 * come before the first event (as `exportAudit` writes them).
 */
export async function verifyExport(
  lines: AsyncIterable<string>,
  keys: TrustedKeys,
  kept: readonly SignedCheckpoint[] = [],
): Promise<ExportVerdict> {
  let n = 0;
  let sawHeader = false;
  let anchor: SignedCheckpoint | undefined;
  const checkpoints = [...kept];
  let verifier: CheckpointedChainVerifier | undefined;
  const malformed = (message: string): ExportVerdict => ({
    ok: false,
    line: n,
    reason: "malformed",
    message: `line ${n}: ${message}`,
  });
  for await (const text of lines) {
    n += 1;
    if (text.trim() === "") continue;
    const line = parseExportLine(text);
    if (!sawHeader) {
      if (line.kind !== "header") return malformed("this is not a dbward audit export (no header line)");
      sawHeader = true;
      continue;
    }
    switch (line.kind) {
      case "header":
        return malformed("a second header");
      case "invalid":
        return malformed(line.message);
      case "anchor":
      case "checkpoint":
        if (verifier !== undefined) return malformed(`${line.kind} after the first event`);
        if (line.kind === "checkpoint") checkpoints.push(line.checkpoint);
        else if (anchor !== undefined) return malformed("a second anchor");
        else anchor = line.checkpoint;
        break;
      case "event":
        verifier ??= new CheckpointedChainVerifier(checkpoints, keys, anchor);
        if (!verifier.push(line.event)) return withAnchor(verifier.verdict(), anchor);
        break;
    }
  }
  if (!sawHeader) return malformed("the export is empty");
  verifier ??= new CheckpointedChainVerifier(checkpoints, keys, anchor);
  return withAnchor(verifier.verdict(), anchor);
}

function withAnchor(verdict: CheckpointedVerdict, anchor: SignedCheckpoint | undefined): ExportVerdict {
  return verdict.ok ? { ...verdict, anchorSeq: anchor?.seq } : verdict;
}

/** The store's retained chain (from its anchor, signature checked) against kept checkpoints. */
export function verifyStoreAgainstCheckpoints(
  db: Kysely<Database>,
  keys: TrustedKeys,
  kept: readonly SignedCheckpoint[],
): Promise<ExportVerdict> {
  return verifyStoreWith(db, async (_db, anchor) => new CheckpointedChainVerifier(kept, keys, anchor));
}

/**
 * The store's retained chain against every checkpoint stored in it, each checked with the public
 * keys the store recorded for its signing keys: the event at a checkpoint's sequence must carry
 * the checkpoint's hash, so deleting the newest events back past a checkpoint is reported as
 * `truncated`, and an edited checkpoint as `bad_signature`. Someone who can write the state can
 * also delete its checkpoints or record a key of their own; checkpoints kept outside the bot,
 * checked with the public key from elsewhere (`verifyStoreAgainstCheckpoints`), do not have that
 * weakness. The chain, checkpoints and keys are read in one snapshot (audit-snapshot.ts).
 */
export function verifyStoreWithItsCheckpoints(db: Kysely<Database>): Promise<ExportVerdict> {
  return verifyStoreWith(
    db,
    async (snapshotDb, anchor) =>
      new CheckpointedChainVerifier(
        await listCheckpoints(snapshotDb, anchor?.seq ?? 0),
        await storedPublicKeys(snapshotDb),
        anchor,
      ),
  );
}

/**
 * The retained chain from its anchor through the checkpoint verifier `checkpointsOf` makes,
 * reading what it needs in the same snapshot as the events. A SQLite file is scanned by its own
 * fast reader (verify-sqlite-store.ts), anything else event by event (scanRetained); both give
 * the same verdicts (verify-sqlite-store.test.ts holds them to it).
 */
async function verifyStoreWith(
  db: Kysely<Database>,
  checkpointsOf: (
    snapshotDb: Kysely<Database>,
    anchor: SignedCheckpoint | undefined,
  ) => Promise<CheckpointedChainVerifier>,
): Promise<ExportVerdict> {
  const fromFile = await verifySqliteFileStoreCheckpointed(db, FILE_BATCH_ROWS, checkpointsOf);
  if (fromFile !== undefined)
    return "verdict" in fromFile ? withAnchor(fromFile.verdict, fromFile.anchor) : fromFile;
  return withAuditSnapshot(db, async (snapshot) => {
    const start = await findRetainedAnchor(snapshot.db);
    if (!start.ok) return start;
    const verifier = await checkpointsOf(snapshot.db, start.anchor);
    return withAnchor(await scanRetained(snapshot, start.anchor?.seq, verifier), start.anchor);
  });
}

/** Rows a page for the SQLite scanner (it caps pages itself). */
const FILE_BATCH_ROWS = 5000;
