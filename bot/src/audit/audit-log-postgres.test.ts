/**
 * The audit chain on PostgreSQL state with several writers (docs/deployment.md, high
 * availability): separate OS processes, each with its own connection pool as a bot instance has,
 * append at once; the chain stays one sequence with no gap, fork or reorder, and verifies.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { once } from "node:events";
import { fileURLToPath } from "node:url";
import { after, before, describe, test } from "node:test";
import { dropStateDatabase, ensureStateDatabase } from "../../../test/support/postgres-state.ts";
import { inTransaction } from "../store/in-transaction.ts";
import { openPostgresStore } from "../store/open-postgres-store.ts";
import type { Store } from "../store/open-store.ts";
import { appendAudit, listAudit, verifyAuditStore } from "./audit-log.ts";

const REPO_ROOT = fileURLToPath(new URL("../../../", import.meta.url));
const CHILD = fileURLToPath(new URL("../../../test/support/append-audit-child.ts", import.meta.url));
const PER_PROCESS = 60;

function runChild(url: string, label: string) {
  const child = spawn(process.execPath, ["--import", "tsx", CHILD, url, String(PER_PROCESS), label], {
    cwd: REPO_ROOT,
    stdio: ["pipe", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout.setEncoding("utf8").on("data", (s: string) => (stdout += s));
  child.stderr.setEncoding("utf8").on("data", (s: string) => (stderr += s));
  const exited = once(child, "exit").then(([code]) => ({ code: code as number | null, stderr }));
  const ready = new Promise<void>((resolve, reject) => {
    child.stdout.on("data", () => {
      if (stdout.includes("ready\n")) resolve();
    });
    void exited.then((r) => reject(new Error(`child ${label} exited before ready: ${r.stderr}`)));
  });
  return { child, ready, exited };
}

describe("audit chain on PostgreSQL state", () => {
  const key = `audit-pg-${process.pid}`;
  let url: string;
  let store: Store;
  before(async () => {
    await dropStateDatabase(key);
    url = await ensureStateDatabase(key);
    store = await openPostgresStore({ url, poolSize: 4, onIdleError: () => undefined });
  });
  after(async () => {
    await store.destroy();
    await dropStateDatabase(key);
  });

  test("three processes appending at once leave one gapless chain that verifies", async () => {
    await inTransaction(store, (tx) =>
      appendAudit(
        tx,
        { actor: "system", action: "test.start", target: "", outcome: "success", details: {} },
        new Date(),
      ),
    );
    const children = ["a", "b", "c"].map((label) => runChild(url, label));
    await Promise.all(children.map((c) => c.ready));
    for (const c of children) c.child.stdin.write("go\n");
    for (const r of await Promise.all(children.map((c) => c.exited))) assert.equal(r.code, 0, r.stderr);

    const events = await listAudit(store, { limit: 10_000 });
    assert.equal(events.length, 1 + 3 * PER_PROCESS, "every append landed");
    assert.deepEqual(
      events.map((e) => e.seq),
      Array.from({ length: events.length }, (_, i) => i + 1),
    );
    for (let i = 1; i < events.length; i++) assert.equal(events[i]?.prevHash, events[i - 1]?.hash);
    // The writers interleaved: the lock serialised them, it did not run them one after another.
    const order = events.slice(1).map((e) => e.actor);
    assert.ok(new Set(order.slice(0, PER_PROCESS)).size > 1, "appends from several processes interleave");
    const verdict = await verifyAuditStore(store);
    assert.equal(verdict.ok, true, JSON.stringify(verdict));
  });

  test("a transaction that fails after appending leaves no event and no gap", async () => {
    const before = (await listAudit(store, { limit: 10_000 })).length;
    await assert.rejects(
      inTransaction(store, async (tx) => {
        await appendAudit(
          tx,
          { actor: "system", action: "test.doomed", target: "", outcome: "success", details: {} },
          new Date(),
        );
        throw new Error("the change failed after its audit event");
      }),
      /failed after its audit event/,
    );
    await inTransaction(store, (tx) =>
      appendAudit(
        tx,
        { actor: "system", action: "test.after", target: "", outcome: "success", details: {} },
        new Date(),
      ),
    );
    const events = await listAudit(store, { limit: 10_000 });
    assert.equal(events.length, before + 1);
    assert.equal(events.at(-1)?.seq, before + 1);
    assert.equal((await verifyAuditStore(store)).ok, true);
  });
});
