/**
 * `dbward state migrate --from DIR --to postgres://USER@HOST/DB`: moves an installation's state
 * from its SQLite file to a PostgreSQL database (docs/operations.md, "Moving to PostgreSQL
 * state"). The audit chain is the product's proof (SECURITY.md, tamper-evident audit), so the move
 * must neither launder a broken chain into a fresh-looking store nor lose or reorder an event:
 *
 * - the source is read in one read transaction (one snapshot) and its chain verified against its
 *   stored checkpoints first; a broken chain is refused, naming the first bad sequence;
 * - the bot must not be running on the source (`<dir>/bot.pid`), or it would go on writing to a
 *   store that is no longer the one in use;
 * - the target must be a database of dbward's own with every table empty (a wrong URL pointed at
 *   an application database is refused before anything is created in it);
 * - every table is copied in one transaction on the target, under the store's write lock, ids as
 *   they are; before it commits, the target's chain is verified with the same verifier and its head
 *   and per-table row counts compared with the source's. Any difference rolls the copy back.
 */
import { join, resolve } from "node:path";
import { verifyStoreWithItsCheckpoints } from "@dbward/bot/audit/verify-export";
import { SCHEMA_VERSION, STORE_FILE, type Store } from "@dbward/bot/store/open-store";
import { sql } from "kysely";
import { CliError } from "../cli-error.ts";
import { EXIT } from "../exit-codes.ts";
import type { Output } from "../output.ts";
import { readPidFile } from "../pid-file.ts";
import { assertStateUrl, connectPostgres, describeStateUrl, withStateFile } from "../read-state.ts";
import {
  copyTable,
  countRows,
  deleteRows,
  describeSourceTable,
  moveIdentity,
  type SourceTable,
} from "./state-copy.ts";
import { assertTargetEmpty, assertTargetUnused } from "./state-target.ts";
import { copyResultChunks, type ResultsCopy } from "./state-results.ts";
import { readStateTables, type StateTables } from "./state-tables.ts";

type Env = Readonly<Record<string, string | undefined>>;

export interface MigrateArgs {
  readonly from: string;
  readonly to: string;
  /** The source bot's `results.dir`; default `<from>/results`. */
  readonly resultsDir?: string | undefined;
  readonly json: boolean;
}

interface ChainHead {
  readonly count: number;
  readonly lastSeq: number;
  readonly lastHash: string;
}

interface SourcePlan {
  readonly head: ChainHead;
  readonly shapes: ReadonlyMap<string, SourceTable>;
  readonly counts: ReadonlyMap<string, number>;
}

export interface MigrateSummary {
  readonly from: string;
  readonly to: string;
  readonly tables: Readonly<Record<string, number>>;
  readonly audit: ChainHead;
  /** The id the next row of each table with a generated id gets. */
  readonly next_ids: Readonly<Record<string, number>>;
  /** Stored results whose chunk files were copied into the state's result_chunks. */
  readonly results: ResultsCopy;
}

export async function runStateMigrate(out: Output, env: Env, args: MigrateArgs): Promise<void> {
  const dataDir = resolve(args.from);
  const url = assertStateUrl(args.to, "--to");
  refuseRunningBot(dataDir);
  const schema = readStateTables();
  const resultsDir = resolve(args.resultsDir ?? join(dataDir, "results"));
  const summary = await withStateFile(dataDir, (file) =>
    file.connection().execute(async (source) => {
      // One read transaction: the chain verified, the rows copied and the counts compared are
      // all of one snapshot, even should something write to the file meanwhile.
      await sql`begin`.execute(source);
      try {
        const plan = await readSource(source, schema);
        await assertTargetUnused(url, env, schema);
        const target = await connectPostgres(url, env, false);
        try {
          return await copyInto(target, source, schema, plan, {
            from: join(dataDir, STORE_FILE),
            url,
            resultsDir,
          });
        } finally {
          await target.destroy();
        }
      } finally {
        await sql`rollback`.execute(source);
      }
    }),
  );
  if (args.json) out.print(JSON.stringify(summary));
  else printSummary(out, summary);
  if (!args.json) for (const line of carryOverNotes(dataDir, resultsDir, summary.results)) out.print(line);
}

function refuseRunningBot(dataDir: string): void {
  const pid = readPidFile(dataDir);
  if (pid.kind === "live")
    throw new CliError(
      `the bot (pid ${pid.pid}) is running on ${dataDir}: stop it first, so that nothing is written to the old state after it is copied (nothing was copied)`,
      EXIT.refused,
    );
}

async function readSource(source: Store, schema: StateTables): Promise<SourcePlan> {
  const version = await sql<{ v: number | null }>`select max(version) as v from schema_version`.execute(
    source,
  );
  const v = version.rows[0]?.v ?? 0;
  if (v > SCHEMA_VERSION)
    throw new CliError(
      `the source state is at schema version ${v}, newer than this dbward (${SCHEMA_VERSION}); migrate with the dbward that wrote it`,
      EXIT.refused,
    );
  const verdict = await verifyStoreWithItsCheckpoints(source);
  if (!verdict.ok) {
    const at = "seq" in verdict ? `at sequence ${verdict.seq}` : "";
    throw new CliError(
      `the source's audit chain is BROKEN ${at}: ${verdict.reason}: ${verdict.message}. Nothing was copied: a move must not carry a broken chain into a fresh store; find out what happened first (dbward audit verify --data-dir)`,
      EXIT.auditBroken,
    );
  }
  const shapes = new Map<string, SourceTable>();
  const counts = new Map<string, number>();
  for (const table of schema.tables) {
    const shape = await describeSourceTable(source, table);
    if (shape === undefined) continue;
    shapes.set(table, shape);
    counts.set(table, await countRows(source, table));
  }
  return {
    head: { count: verdict.count, lastSeq: verdict.lastSeq, lastHash: verdict.lastHash },
    shapes,
    counts,
  };
}

async function copyInto(
  target: Store,
  source: Store,
  schema: StateTables,
  plan: SourcePlan,
  where: { readonly from: string; readonly url: string; readonly resultsDir: string },
): Promise<MigrateSummary> {
  return target.transaction().execute(async (tx) => {
    // Again under the write lock: a bot started on the target since the first look has written.
    await assertTargetEmpty(tx, schema);
    for (const table of schema.seeded) await deleteRows(tx, table);
    const tables: Record<string, number> = {};
    for (const table of schema.tables) {
      const shape = plan.shapes.get(table);
      tables[table] = shape === undefined ? 0 : await copyTable(source, tx, table, shape);
    }
    await assertSameChain(tx, plan.head);
    for (const table of schema.tables) {
      const copied = await countRows(tx, table);
      const expected = plan.counts.get(table) ?? 0;
      if (copied !== expected)
        throw new CliError(
          `table ${table}: ${copied} rows on the target, ${expected} in the source; nothing was committed`,
          EXIT.failure,
        );
    }
    const results = await copyResultChunks(source, tx, where.resultsDir);
    const nextIds: Record<string, number> = {};
    for (const [table, column] of schema.identities) nextIds[table] = await moveIdentity(tx, table, column);
    return {
      from: where.from,
      to: describeStateUrl(where.url),
      tables,
      audit: plan.head,
      next_ids: nextIds,
      results,
    };
  });
}

async function assertSameChain(target: Store, source: ChainHead): Promise<void> {
  const v = await verifyStoreWithItsCheckpoints(target);
  if (!v.ok)
    throw new CliError(
      `the copied audit chain does not verify on the target (${"seq" in v ? `sequence ${v.seq}, ` : ""}${v.reason}: ${v.message}); nothing was committed`,
      EXIT.auditBroken,
    );
  if (v.count !== source.count || v.lastSeq !== source.lastSeq || v.lastHash !== source.lastHash)
    throw new CliError(
      `the copied audit chain ends at ${v.lastSeq} (${v.count} events, ${v.lastHash.slice(0, 16)}…), the source's at ${source.lastSeq} (${source.count} events, ${source.lastHash.slice(0, 16)}…); nothing was committed`,
      EXIT.auditBroken,
    );
}

function printSummary(out: Output, s: MigrateSummary): void {
  out.print(`copied ${s.from} to ${s.to}:`);
  for (const [table, rows] of Object.entries(s.tables)) out.print(`  ${table.padEnd(24)} ${rows}`);
  out.print(
    `audit chain verified on both sides: ${s.audit.count} events, head at ${s.audit.lastSeq} (${s.audit.lastHash.slice(0, 16)}…), the same on the target`,
  );
  const next = Object.entries(s.next_ids).map(([table, id]) => `${table} ${id}`);
  out.print(`new ids continue at: ${next.join(", ")}`);
  out.print(`next: set state.url to postgres://${s.to} in the bot config and start the bot`);
}

/** What the copy carried besides the tables, and what it could not. */
function carryOverNotes(dataDir: string, resultsDir: string, r: ResultsCopy): string[] {
  const notes = [
    `signing key: not in the state; give the bots on the new state ${join(dataDir, "signing-key.json")} (in their data directory), or pin their new key in every agent`,
    `results: ${r.results} stored result(s) copied from ${resultsDir} into the state (${r.chunks} chunks, ${r.bytes} bytes); bots on it without results.dir read them there`,
  ];
  if (r.missing > 0)
    notes.push(
      `results: ${r.missing} result(s) the state names have no complete files under ${resultsDir} (pass --results-dir if the bot's results.dir was elsewhere); they answer 410 result.expired`,
    );
  return notes;
}
