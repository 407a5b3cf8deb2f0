/**
 * The ResultStore contract (result-store.ts), one set of cases run against both stores: the file
 * store in a temporary directory beside SQLite state, and the PostgreSQL store on a fresh database
 * of its own. Order, idempotent and atomic chunks, removal, a 20 MB result read a chunk at a time,
 * and retention purging the rows, on each.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { generateSigningKey, memorySigner, type RequestId } from "@dbward/shared";
import type { KyselyPlugin, PluginTransformQueryArgs, PluginTransformResultArgs, QueryResult } from "kysely";
import { dropStateDatabase, ensureStateDatabase } from "../../../test/support/postgres-state.ts";
import { parseBotConfig } from "../config/bot-config.ts";
import { systemRandom } from "../core/clock.ts";
import { insertExecution } from "../store/executions-repo.ts";
import { inTransaction } from "../store/in-transaction.ts";
import { openPostgresStore } from "../store/open-postgres-store.ts";
import { openStore, type Store } from "../store/open-store.ts";
import type { BotContext } from "../use-cases/bot-context.ts";
import { JobSignal } from "../use-cases/job-signal.ts";
import { purgeExpiredResults } from "../use-cases/purge-results.ts";
import { createFileResultStore } from "./file-result-store.ts";
import { createPostgresResultStore } from "./postgres-result-store.ts";
import type { ResultStore } from "./result-store.ts";
import { requestRow } from "../../../test/support/request-row.ts";

interface Fixture {
  /** The state store the result store sits beside (retention reads it). */
  readonly state: Store;
  readonly results: ResultStore;
  /** Chunk bodies the store has loaded so far, when it can be watched (PostgreSQL's queries). */
  readonly loaded?: () => number;
  close(): Promise<void>;
}

/** Counts the chunk bodies PostgreSQL hands back: what the store holds in memory at most. */
class LoadedChunks implements KyselyPlugin {
  count = 0;
  transformQuery(args: PluginTransformQueryArgs): PluginTransformQueryArgs["node"] {
    return args.node;
  }
  transformResult(args: PluginTransformResultArgs): Promise<QueryResult<Record<string, unknown>>> {
    for (const row of args.result.rows) if (Buffer.isBuffer(row.data)) this.count += 1;
    return Promise.resolve(args.result);
  }
}

const STORES: readonly { name: string; open: () => Promise<Fixture> }[] = [
  {
    name: "file store",
    open: () => {
      const dir = mkdtempSync(join(tmpdir(), "dbward-result-contract-"));
      const state = openStore(dir);
      return Promise.resolve({
        state,
        results: createFileResultStore(join(dir, "results")),
        async close() {
          await state.destroy();
          rmSync(dir, { recursive: true, force: true });
        },
      });
    },
  },
  {
    name: "PostgreSQL store",
    open: async () => {
      const key = `result-store-contract-${process.pid}`;
      await dropStateDatabase(key);
      const url = await ensureStateDatabase(key);
      const state = await openPostgresStore({ url, poolSize: 4, onIdleError: () => undefined });
      const counter = new LoadedChunks();
      return {
        state,
        results: createPostgresResultStore(state.withPlugin(counter)),
        loaded: () => counter.count,
        async close() {
          await state.destroy();
          await dropStateDatabase(key);
        },
      };
    },
  },
];

/** `rows` NDJSON rows of one string each, `width` characters wide (a line is width + 5 bytes). */
function ndjson(rows: number, fill: string, width = 16): Buffer {
  return Buffer.from(`["${fill.repeat(width)}"]\n`.repeat(rows));
}

async function collect(chunks: AsyncIterable<Buffer>): Promise<Buffer[]> {
  const all: Buffer[] = [];
  for await (const chunk of chunks) all.push(chunk);
  return all;
}

const NOW = new Date("2030-01-01T12:00:00.000Z");

async function insertRequest(state: Store, id: number): Promise<void> {
  const at = NOW.toISOString();
  await state
    .insertInto("requests")
    .values(requestRow({ id, status: "succeeded", created_at: at, expires_at: at }))
    .execute();
}

/** A finished execution of request `id` whose stored result expires at `expiresAt`. */
async function storedResult(f: Fixture, id: number, expiresAt: string): Promise<string> {
  const executionId = `${id}-1`;
  await insertRequest(f.state, id);
  await inTransaction(f.state, (tx) =>
    insertExecution(tx, {
      id: executionId,
      requestId: id as RequestId,
      number: 1,
      agentId: "agent-1",
      tokenId: `token-${executionId}`,
      claimedAt: NOW.toISOString(),
      leaseExpiresAt: NOW.toISOString(),
    }),
  );
  await f.state
    .updateTable("executions")
    .set({ status: "succeeded", result_chunks: 2, result_bytes: 42, result_expires_at: expiresAt })
    .where("id", "=", executionId)
    .execute();
  await f.results.putChunk(executionId, 0, 1, ndjson(1, "a"));
  await f.results.putChunk(executionId, 1, 1, ndjson(1, "b"));
  return executionId;
}

function contextOf(f: Fixture): BotContext {
  return {
    store: f.state,
    config: () =>
      parseBotConfig(
        "databases: [{ name: shop, dialect: postgres, environments: [production] }]\nworkflows: [{ name: w, auto_approve: always }]\n",
      ),
    clock: { now: () => NOW },
    startedAt: NOW,
    random: systemRandom,
    signingKey: memorySigner(generateSigningKey(), "tokens"),
    checkpointSigner: memorySigner(generateSigningKey(), "checkpoints"),
    jobs: new JobSignal(),
    results: f.results,
    shutdown: new AbortController().signal,
    recordChange: () => Promise.resolve(),
    afterCommit: () => undefined,
  };
}

for (const kind of STORES) {
  describe(`result store contract: ${kind.name}`, () => {
    let f: Fixture;
    before(async () => {
      f = await kind.open();
    });
    after(() => f.close());

    test("lists chunks by seq with their rows and bytes, and reads them back in order", async () => {
      const store = f.results;
      const parts = [ndjson(2, "a"), ndjson(1, "b"), Buffer.from('["é"]\n')];
      // Stored out of order: the store answers by seq, not by arrival.
      await store.putChunk("order", 2, 1, parts[2] ?? assert.fail());
      await store.putChunk("order", 0, 2, parts[0] ?? assert.fail());
      await store.putChunk("order", 1, 1, parts[1] ?? assert.fail());
      assert.deepEqual(await store.listChunks("order"), [
        { seq: 0, rows: 2, bytes: 42 },
        { seq: 1, rows: 1, bytes: 21 },
        { seq: 2, rows: 1, bytes: 7 },
      ]);
      assert.deepEqual(await collect(store.read("order", 3)), parts);
      assert.deepEqual(await collect(store.read("order", 2)), parts.slice(0, 2), "reads only `count` chunks");
      assert.deepEqual(await store.listChunks("never-stored"), []);
    });

    test("a chunk stored again under its seq (an agent's retry) keeps one copy", async () => {
      const store = f.results;
      await store.putChunk("again", 0, 3, ndjson(3, "x"));
      await store.putChunk("again", 1, 1, ndjson(1, "y"));
      await store.putChunk("again", 0, 3, ndjson(3, "x"));
      await store.putChunk("again", 0, 3, ndjson(3, "x"));
      assert.deepEqual(await store.listChunks("again"), [
        { seq: 0, rows: 3, bytes: 63 },
        { seq: 1, rows: 1, bytes: 21 },
      ]);
      assert.deepEqual(await collect(store.read("again", 2)), [ndjson(3, "x"), ndjson(1, "y")]);
    });

    test("a chunk is whole or absent to a reader racing its write and its replacement", async () => {
      const store = f.results;
      const first = ndjson(100_000, "a", 75); // 8 MB, MAX_RESULT_CHUNK_BYTES
      const second = ndjson(100_000, "b", 75);
      const seen = new Set<string>();
      let writing = true;
      const watch = (async () => {
        while (writing) {
          const listed = await store.listChunks("atomic");
          if (listed.length === 0) {
            seen.add("absent");
            continue;
          }
          assert.deepEqual(listed, [{ seq: 0, rows: 100_000, bytes: first.length }]);
          const [got] = await collect(store.read("atomic", 1));
          assert.ok(
            got !== undefined && (got.equals(first) || got.equals(second)),
            "one whole copy, never a mix",
          );
          seen.add(got.equals(first) ? "first" : "second");
        }
      })();
      await store.putChunk("atomic", 0, 100_000, first);
      await store.putChunk("atomic", 0, 100_000, second);
      writing = false;
      await watch;
      assert.deepEqual(await collect(store.read("atomic", 1)), [second]);
      assert.ok(seen.size >= 1);
    });

    test("reading a chunk that is not stored fails instead of ending short", async () => {
      const store = f.results;
      await store.putChunk("short", 0, 1, ndjson(1, "a"));
      await assert.rejects(collect(store.read("short", 2)), /has no chunk 1/);
    });

    test("remove deletes every chunk of one result only, and removing nothing is fine", async () => {
      const store = f.results;
      await store.putChunk("gone", 0, 1, ndjson(1, "a"));
      await store.putChunk("gone", 1, 1, ndjson(1, "b"));
      await store.putChunk("kept", 0, 1, ndjson(1, "c"));
      await store.seal("gone");
      await store.remove("gone");
      await store.remove("gone");
      await store.remove("never-stored");
      assert.deepEqual(await store.listChunks("gone"), []);
      assert.deepEqual(await store.listChunks("kept"), [{ seq: 0, rows: 1, bytes: 21 }]);
    });

    test("a 20 MB result is read one chunk at a time, never loading a chunk before it is asked for", async () => {
      const store = f.results;
      const CHUNKS = 20;
      const rowsPerChunk = 10_486; // 100-byte lines: just over 1 MiB a chunk, as the agent sends
      for (let seq = 0; seq < CHUNKS; seq += 1)
        await store.putChunk("big", seq, rowsPerChunk, ndjson(rowsPerChunk, String(seq % 10), 95));
      await store.seal("big");
      const total = (await store.listChunks("big")).reduce((sum, c) => sum + c.bytes, 0);
      assert.ok(total > 20 * 1024 * 1024, `${total} bytes stored`);
      let consumed = 0;
      let largest = 0;
      let mostAhead = 0;
      const loadedBefore = f.loaded?.() ?? 0;
      for await (const chunk of store.read("big", CHUNKS)) {
        consumed += 1;
        largest = Math.max(largest, chunk.length);
        if (f.loaded !== undefined) mostAhead = Math.max(mostAhead, f.loaded() - loadedBefore - consumed);
        // Replace the next chunk now: a store that had already loaded it would yield the old bytes.
        if (consumed < CHUNKS)
          await store.putChunk("big", consumed, rowsPerChunk, ndjson(rowsPerChunk, "z", 95));
        if (consumed > 1)
          assert.ok(chunk.equals(ndjson(rowsPerChunk, "z", 95)), `chunk ${consumed - 1} read late`);
      }
      assert.equal(consumed, CHUNKS);
      assert.ok(largest * CHUNKS <= total, "each buffer is one chunk, not the whole result");
      assert.equal(mostAhead, 0, "no chunk body is loaded ahead of the reader");
    });

    test("retention purges an expired result's rows and keeps one not yet expired", async () => {
      const expired = await storedResult(f, 1, new Date(NOW.getTime() - 1000).toISOString());
      const live = await storedResult(f, 2, new Date(NOW.getTime() + 3_600_000).toISOString());
      const ctx = contextOf(f);
      assert.equal(await purgeExpiredResults(ctx), 1);
      assert.deepEqual(await f.results.listChunks(expired), []);
      assert.equal((await f.results.listChunks(live)).length, 2);
      const purged = await f.state
        .selectFrom("executions")
        .select(["result_purged_at", "result_json"])
        .where("id", "=", expired)
        .executeTakeFirstOrThrow();
      assert.deepEqual(purged, { result_purged_at: NOW.toISOString(), result_json: null });
      const audit = await f.state.selectFrom("audit_events").select(["action", "target"]).execute();
      assert.deepEqual(audit, [{ action: "result.purged", target: "request:1" }]);
      assert.equal(await purgeExpiredResults(ctx), 0, "a second sweep purges nothing again");
    });
  });
}
