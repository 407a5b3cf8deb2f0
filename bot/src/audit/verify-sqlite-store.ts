/**
 * `verifyAuditStore` on a SQLite file, at close to the speed of SHA-256 itself. Everything is as
 * in audit-snapshot.ts (one read transaction on a read-only connection of its own, the events a
 * page at a time through one prepared statement, each row an array of its columns), except that
 * the rows are checked and hashed where they are read, without an object per event:
 *
 * - A row takes the fast path only when it is plainly the next event: its sequence number is the
 *   one expected, its `prev_hash` is the hash before it, every column is text of the kind that
 *   JSON writes unescaped, its outcome is one of AUDIT_OUTCOMES and its details text is plainly
 *   canonical (`isCanonicalDetailsText`). Then the hashed text is the written-out tuple of
 *   `auditHashInput` byte for byte (the same template with the same members), and the event
 *   passes when its hash is the stored one.
 * - Any other row — and any row whose hash does not match — goes the reference way: parsed by
 *   `parseAuditRowValues` and pushed to a `ChainVerifier` started where the chain stands, so every
 *   break is the verdict `scanRetained` gives, with the same reason, sequence number and message.
 *
 * (Memory-mapped reads, `mmap_size`, measured ~4% faster: not worth turning an I/O error on the
 * file into a signal that kills the bot.)
 */
import SqliteDatabase from "better-sqlite3";
import { hash } from "node:crypto";
import {
  AUDIT_OUTCOMES,
  ChainVerifier,
  type CheckpointedChainVerifier,
  type CheckpointedVerdict,
  type SignedCheckpoint,
  GENESIS_HASH,
  isCanonicalDetailsText,
  isPlainJsonText,
  plainAuditHashInput,
  type ChainVerdict,
} from "@dbward/shared";
import { Kysely, SqliteAdapter, SqliteDialect, sql } from "kysely";
import type { Database } from "../store/tables.ts";
import { AUDIT_COLUMNS, isMalformedRow, parseAuditRowValues } from "./audit-rows.ts";
import { PURGE_ACTION, findRetainedAnchor, recordsPurgeThrough, unrecordedPurge } from "./retained-anchor.ts";

/**
 * At most this many rows are read at a time, whatever the caller's batch size: a page is live
 * while it is hashed, and a young generation full of larger pages costs more to collect than
 * the extra statement steps of smaller ones (~10% at 5000 rows a page).
 */
const MAX_PAGE_ROWS = 1000;

/**
 * The verdict for a store kept in a SQLite file, or undefined when `db` is not one (PostgreSQL,
 * an in-memory database, or inside a transaction): the caller then verifies the general way.
 */
export async function verifySqliteFileStore(
  db: Kysely<Database>,
  batchSize: number,
): Promise<ChainVerdict | undefined> {
  return inSqliteSnapshot(db, async (tx, connection) => {
    const start = await findRetainedAnchor(tx);
    if (!start.ok) return start;
    const { chain, purgeRecorded } = scanRows(connection, start.anchor, batchSize);
    return withRecordedPurge(chain, purgeRecorded, start.anchor?.seq);
  });
}

/**
 * `verifyStoreWithItsCheckpoints` / `verifyStoreAgainstCheckpoints` on a SQLite file at the same
 * speed: the chain is scanned as above, the hashes at the checkpoints' sequence numbers are kept
 * on the way, and the CheckpointedChainVerifier that `checkpointsOf` makes (reading the stored
 * checkpoints and keys in the same read transaction, so one snapshot holds all three) settles
 * the verdict from them. Undefined when `db` is not a SQLite file.
 */
export async function verifySqliteFileStoreCheckpointed(
  db: Kysely<Database>,
  batchSize: number,
  checkpointsOf: (
    tx: Kysely<Database>,
    anchor: SignedCheckpoint | undefined,
  ) => Promise<CheckpointedChainVerifier>,
): Promise<
  | { readonly verdict: CheckpointedVerdict; readonly anchor: SignedCheckpoint | undefined }
  | Extract<ChainVerdict, { ok: false }>
  | undefined
> {
  return inSqliteSnapshot(db, async (tx, connection) => {
    const start = await findRetainedAnchor(tx);
    if (!start.ok) return start;
    const verifier = await checkpointsOf(tx, start.anchor);
    const hashes = new Map<number, string>();
    const seqs = verifier.pendingSeqs();
    const { chain, purgeRecorded, malformedFirst } = scanRows(connection, start.anchor, batchSize, {
      seqs,
      hashes,
    });
    // The checkpoints' verdict before the purge rule, as scanRetained orders them.
    const verdict = withRecordedPurge(
      verifier.settle(chain, hashes, malformedFirst),
      purgeRecorded,
      start.anchor?.seq,
    );
    return { verdict, anchor: start.anchor };
  });
}

/**
 * Runs `body` in one read transaction on a read-only connection of its own to the file behind
 * `db`; undefined when `db` is not a SQLite file (PostgreSQL, in memory, inside a transaction).
 */
async function inSqliteSnapshot<T>(
  db: Kysely<Database>,
  body: (tx: Kysely<Database>, connection: SqliteDatabase.Database) => Promise<T>,
): Promise<T | undefined> {
  const file = await sqliteFile(db);
  if (file === undefined) return undefined;
  const connection = new SqliteDatabase(file, { readonly: true, fileMustExist: true });
  connection.pragma("busy_timeout = 5000");
  const reader = new Kysely<Database>({ dialect: new SqliteDialect({ database: connection }) });
  try {
    // A deferred BEGIN on a read-only connection: a read transaction, one snapshot until COMMIT.
    return await reader.transaction().execute((tx) => body(tx, connection));
  } finally {
    await reader.destroy();
  }
}

/** The file behind a SQLite store, when it is one and `db` is not inside a transaction. */
async function sqliteFile(db: Kysely<Database>): Promise<string | undefined> {
  if (db.isTransaction || !(db.getExecutor().adapter instanceof SqliteAdapter)) return undefined;
  const { rows } = await sql<{
    file: unknown;
  }>`select file from pragma_database_list where name = 'main'`.execute(db);
  const file = rows[0]?.file;
  // An in-memory or temporary database has no file another connection could open.
  return typeof file === "string" && file !== "" ? file : undefined;
}

/** The chain from `anchor` (the genesis when undefined), as `scanRetained` with a ChainVerifier. */
function scanRows(
  connection: SqliteDatabase.Database,
  anchor: { readonly seq: number; readonly hash: string } | undefined,
  batchSize: number,
  kept: { readonly seqs: ReadonlySet<number>; readonly hashes: Map<number, string> } = NOTHING_KEPT,
): {
  readonly chain: ChainVerdict;
  readonly purgeRecorded: boolean;
  /** The first row read was not an event (scanRetained reports that before anything else). */
  readonly malformedFirst: boolean;
} {
  const keep = kept.seqs.size > 0;
  const anchorSeq = anchor?.seq;
  let purgeRecorded = anchorSeq === undefined;
  let expectedSeq = (anchorSeq ?? 0) + 1;
  let prevHash = anchor?.hash ?? GENESIS_HASH;
  // After the first event, prevHash is a hash this loop computed: hex, written as it stands.
  let prevPlain = isPlainJsonText(prevHash);
  let count = 0;
  const pageRows = Math.min(batchSize, MAX_PAGE_ROWS);
  const page = connection
    .prepare(`SELECT ${AUDIT_COLUMNS} FROM audit_events WHERE seq > ? ORDER BY seq LIMIT ?`)
    .raw(true);
  for (;;) {
    const rows = page.all(expectedSeq - 1, pageRows) as unknown[][];
    const n = rows.length;
    if (n === 0) break;
    for (let i = 0; i < n; i++) {
      const r = rows[i] as unknown[];
      const action = r[3];
      const h = r[8];
      if (
        prevPlain &&
        r[0] === expectedSeq &&
        r[7] === prevHash &&
        typeof h === "string" &&
        isOutcome(r[5]) &&
        isPlainJsonText(action) &&
        isPlainJsonText(r[2]) &&
        isPlainJsonText(r[4]) &&
        isPlainJsonText(r[1]) &&
        typeof r[6] === "string" &&
        isCanonicalDetailsText(r[6]) &&
        hash(
          "sha256",
          plainAuditHashInput(action, r[2], r[6], r[5] as string, prevHash, expectedSeq, r[4], r[1]),
          "hex",
        ) === h
      ) {
        if (anchorSeq !== undefined && action === PURGE_ACTION) {
          const e = parseAuditRowValues(r);
          purgeRecorded ||= !isMalformedRow(e) && recordsPurgeThrough(e, anchorSeq);
        }
        if (keep && kept.seqs.has(expectedSeq)) kept.hashes.set(expectedSeq, h);
        prevHash = h;
        expectedSeq += 1;
        count += 1;
        prevPlain = true;
        continue;
      }
      // The reference way, for this one row.
      const e = parseAuditRowValues(r);
      if (isMalformedRow(e)) {
        const chain = {
          ok: false,
          seq: e.seq ?? expectedSeq,
          reason: "malformed_event",
          message: e.malformed,
        } as const;
        return { chain, purgeRecorded: true, malformedFirst: count === 0 };
      }
      const verifier = new ChainVerifier({ seq: expectedSeq - 1, hash: prevHash });
      if (!verifier.push(e)) return { chain: verifier.verdict(), purgeRecorded: true, malformedFirst: false };
      purgeRecorded ||= recordsPurgeThrough(e, anchorSeq);
      if (keep && kept.seqs.has(expectedSeq)) kept.hashes.set(expectedSeq, e.hash);
      prevHash = e.hash;
      expectedSeq += 1;
      count += 1;
      prevPlain = isPlainJsonText(prevHash);
    }
    if (n < pageRows) break;
  }
  return {
    chain: { ok: true, count, lastSeq: expectedSeq - 1, lastHash: prevHash },
    purgeRecorded,
    malformedFirst: false,
  };
}

/** A passing verdict from an anchor no recorded purge names is the `unrecordedPurge` break. */
function withRecordedPurge<V extends { readonly ok: boolean }>(
  verdict: V,
  purgeRecorded: boolean,
  anchorSeq: number | undefined,
): V | Extract<ChainVerdict, { ok: false }> {
  return !verdict.ok || purgeRecorded || anchorSeq === undefined ? verdict : unrecordedPurge(anchorSeq);
}

const NOTHING_KEPT = { seqs: new Set<number>(), hashes: new Map<number, string>() };

/** The outcomes, each of which JSON writes as it stands. */
const OUTCOMES: ReadonlySet<unknown> = new Set(AUDIT_OUTCOMES.filter(isPlainJsonText));

function isOutcome(v: unknown): v is string {
  return OUTCOMES.has(v);
}
