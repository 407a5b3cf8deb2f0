/**
 * Run again through the API and the CLI (issue 13): `POST /api/requests` with `rerun_of`, and
 * `dbward request rerun ID`. The new request is linked to a finished one of the caller's and goes
 * through its workflow again; a request not yet finished, or someone else's, is refused.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { listAudit } from "@dbward/bot";
import type { RequestView } from "@dbward/shared";
import { EXIT } from "../cli/src/exit-codes.ts";
import { main } from "../cli/src/main.ts";
import { captureOutput } from "./support/capture-output.ts";
import { startBotHarness, type BotHarness } from "./support/bot-harness.ts";

const WRITE = {
  database: "legacy",
  environment: "production",
  sql: "UPDATE t SET a = 1 WHERE id = 2",
  reason: "fix the row",
};

describe("Run again (rerun_of)", () => {
  let h: BotHarness;
  before(async () => {
    h = await startBotHarness();
  });
  after(async () => h.stop());

  async function create(user: string, body: Record<string, unknown>) {
    return h.call(await h.tokenFor(user), "POST", "/api/requests", body);
  }

  /** A write by `user`, cancelled by them: finished. */
  async function cancelledWrite(user = "alice"): Promise<number> {
    const made = await create(user, WRITE);
    assert.equal(made.status, 201);
    const id = (made.body as RequestView).id;
    const done = await h.call(await h.tokenFor(user), "POST", `/api/requests/${id}/cancel`, {
      reason: "later",
    });
    assert.equal((done.body as RequestView).status, "cancelled");
    return id;
  }

  async function rerunCli(user: string, args: string[]) {
    const out = captureOutput();
    const env = { DBWARD_URL: h.url, DBWARD_TOKEN: await h.tokenFor(user) };
    const code = await main(["request", "rerun", ...args], env, out);
    return { code, stdout: out.stdout.join("\n"), stderr: out.stderr.join("\n") };
  }

  test("dbward request rerun of a finished request creates a new linked request that needs approval again", async () => {
    const original = await cancelledWrite();
    const { code, stdout, stderr } = await rerunCli("alice", [String(original), "--json"]);
    assert.equal(code, EXIT.ok, stderr);
    const again = JSON.parse(stdout) as RequestView;
    assert.notEqual(again.id, original);
    assert.equal(again.rerun_of, original);
    assert.equal(again.status, "pending_approval");
    assert.deepEqual(
      [again.database, again.environment, again.sql, again.reason],
      [WRITE.database, WRITE.environment, WRITE.sql, WRITE.reason],
    );
    const created = (await listAudit(h.bot.store)).find(
      (e) => e.action === "request.created" && e.target === `request:${again.id}`,
    );
    assert.equal(created?.details.rerun_of, original);
  });

  test("--reason replaces the original's reason, and show says which request it runs again", async () => {
    const original = await cancelledWrite();
    const { code, stdout, stderr } = await rerunCli("alice", [String(original), "--reason", "second try"]);
    assert.equal(code, EXIT.ok, stderr);
    assert.match(stdout, /reason: second try/);
    assert.match(stdout, new RegExp(`Run again of #${original}\\b`));
  });

  test("the API takes other SQL with rerun_of: the link stays, and the workflow decides again", async () => {
    const original = await cancelledWrite();
    const res = await create("alice", {
      ...WRITE,
      sql: "UPDATE t SET a = 2 WHERE id = 2",
      rerun_of: original,
    });
    assert.equal(res.status, 201);
    const again = res.body as RequestView;
    assert.equal(again.rerun_of, original);
    assert.equal(again.status, "pending_approval");
    const plain = await create("alice", WRITE);
    assert.equal((plain.body as RequestView).rerun_of, null, "a request made without it is not linked");
  });

  test("rerun of a request still pending is refused with what to do, and audited", async () => {
    const pending = (await create("alice", WRITE)).body as RequestView;
    const { code, stderr } = await rerunCli("alice", [String(pending.id)]);
    assert.equal(code, EXIT.refused);
    assert.match(
      stderr,
      new RegExp(
        `request #${pending.id} is pending_approval, not finished: only a finished request can be run again`,
      ),
    );
    assert.match(stderr, /request\.invalid_transition/);
    const api = await create("alice", { ...WRITE, rerun_of: pending.id });
    assert.equal(api.status, 409);
    const refusals = (await listAudit(h.bot.store)).filter(
      (e) => e.action === "request.create_refused" && e.details.rerun_of === pending.id,
    );
    assert.equal(refusals.length, 2);
  });

  test("someone else's request is refused: forbidden to one who can see it, missing to one who cannot", async () => {
    const alices = await cancelledWrite("alice");
    const dave = await create("dave", { ...WRITE, rerun_of: alices });
    assert.equal(dave.status, 403);
    assert.match(JSON.stringify(dave.body), /only its requester \(alice\) can run request/);
    const daves = await cancelledWrite("dave");
    const alice = await create("alice", { ...WRITE, rerun_of: daves });
    assert.equal(alice.status, 404);
    assert.equal((alice.body as { error: { code: string } }).error.code, "request.not_found");
    const cli = await rerunCli("alice", [String(daves)]);
    assert.equal(cli.code, EXIT.notFound);
  });

  test("rerun_of must be a request id number", async () => {
    for (const bad of ["1", 0, -3, 1.5, null]) {
      const res = await create("alice", { ...WRITE, rerun_of: bad });
      assert.equal(res.status, 400, JSON.stringify(bad));
      assert.match(JSON.stringify(res.body), /rerun_of/);
    }
  });

  test("a request that does not exist cannot be run again", async () => {
    const res = await create("alice", { ...WRITE, rerun_of: 99999 });
    assert.equal(res.status, 404);
  });
});
