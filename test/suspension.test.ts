/**
 * Suspending a user (SECURITY.md principle 4): refused at once through every way in — API token
 * and Slack here, OIDC in oidc.test.ts — their requests that had not started cancelled and their
 * tokens revoked, in one transaction with its audit events. Activation restores access but not
 * the revoked tokens.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { after, before, describe, test } from "node:test";
import {
  DbwardError,
  type AuditListView,
  type RequestView,
  type SuspensionView,
  type UserView,
} from "@dbward/shared";
import { authenticateSlackUser } from "../bot/src/use-cases/authenticate-slack-user.ts";
import { auditAfter, auditHead, errorOf, GENEROUS_LIMITS } from "./support/audit-reader.ts";
import { startBotHarness, type BotHarness } from "./support/bot-harness.ts";

const CONFIG = `
databases:
  - { name: legacy, dialect: mysql, environments: [production] }
workflows:
  - { name: reads, operations: [read], auto_approve: always }
  - name: writes
    operations: [write]
    steps: [{ approvers: ["role:approver"] }]
users:
  - { id: alice, name: Alice, roles: [requester], slack_user_id: U0ALICE }
  - { id: bob, name: Bob, roles: [approver] }
  - { id: root, name: Root, roles: [admin] }
  - { id: rita, name: Rita, roles: [admin] }
${GENEROUS_LIMITS}`;

describe("suspension", () => {
  let h: BotHarness;
  before(async () => {
    h = await startBotHarness(CONFIG);
  });
  after(async () => h.stop());

  async function createRequest(token: string, sql: string): Promise<RequestView> {
    const res = await h.call(token, "POST", "/api/requests", {
      database: "legacy",
      environment: "production",
      sql,
      reason: "r",
    });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    return res.body as RequestView;
  }

  test("cancels requests that had not started, revokes every token and refuses API and Slack at once, all in one audited transaction", async () => {
    const alice = await h.tokenFor("alice");
    const second = await h.call(alice, "POST", "/api/tokens", { name: "second" });
    assert.equal(second.status, 201);
    const pending = await createRequest(alice, "UPDATE t SET a = 1 WHERE id = 1");
    const approved = await createRequest(alice, "SELECT 1");
    assert.equal(pending.status, "pending_approval");
    assert.ok(["approved", "dispatched"].includes(approved.status), approved.status);
    assert.ok(await authenticateSlackUser(h.bot.ctx, "U0ALICE"));

    const head = await auditHead(h);
    const res = await h.call(h.adminToken, "POST", "/api/users/alice/suspend", {
      reason: "left the company",
    });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const view = res.body as SuspensionView;
    assert.equal(view.user.status, "suspended");
    assert.deepEqual([...view.cancelled_requests].sort(), [pending.id, approved.id].sort());
    assert.equal(view.revoked_tokens.length, 2);

    for (const id of [pending.id, approved.id]) {
      const r = (await h.call(h.adminToken, "GET", `/api/requests/${id}`)).body as RequestView;
      assert.equal(r.status, "cancelled");
      assert.equal(r.status_reason, "requester suspended: left the company");
    }
    assert.equal((await h.call(alice, "GET", "/api/me")).status, 401);
    assert.equal((await h.call((second.body as { token: string }).token, "GET", "/api/me")).status, 401);
    await assert.rejects(
      authenticateSlackUser(h.bot.ctx, "U0ALICE"),
      (err: unknown) => err instanceof DbwardError && err.code === "auth.suspended",
    );

    const events = (await auditAfter(h, head)).filter((e) => e.actor === "user:root");
    assert.deepEqual(
      events.map((e) => e.action),
      ["user.suspended", "request.cancelled", "request.cancelled", "token.revoked", "token.revoked"],
    );
    const seqs = events.map((e) => e.seq);
    assert.deepEqual(
      seqs,
      seqs.map((_, i) => (seqs[0] ?? 0) + i),
      "consecutive: nothing else interleaved",
    );
    assert.equal(new Set(events.map((e) => e.time)).size, 1, "one transaction, one time");
    assert.equal(events[0]?.details.reason, "left the company");
  });

  test("refuses a new token for a suspended user, and activation restores access but not the revoked tokens", async () => {
    const refused = await h.call(h.adminToken, "POST", "/api/tokens", {
      user: "alice",
      name: "while suspended",
    });
    assert.equal(refused.status, 400);
    const head = await auditHead(h);
    const res = await h.call(h.adminToken, "POST", "/api/users/alice/activate", { reason: "came back" });
    assert.equal(res.status, 200);
    assert.equal((res.body as UserView).status, "active");
    assert.equal((await auditAfter(h, head)).filter((e) => e.action === "user.activated").length, 1);
    const old = await h.tokenFor("alice"); // the harness's cached token, revoked at suspension
    assert.equal((await h.call(old, "GET", "/api/me")).status, 401, "revoked tokens stay revoked");
    const fresh = await h.call(h.adminToken, "POST", "/api/tokens", { user: "alice", name: "after" });
    assert.equal(fresh.status, 201);
    assert.equal((await h.call((fresh.body as { token: string }).token, "GET", "/api/me")).status, 200);
    assert.ok(await authenticateSlackUser(h.bot.ctx, "U0ALICE"), "Slack lets her in again");
  });

  test("suspending a suspended user changes and records nothing", async () => {
    assert.equal(
      (await h.call(h.adminToken, "POST", "/api/users/bob/suspend", { reason: "first" })).status,
      200,
    );
    const head = await auditHead(h);
    const again = await h.call(h.adminToken, "POST", "/api/users/bob/suspend", { reason: "second" });
    assert.equal(again.status, 200);
    assert.deepEqual((again.body as SuspensionView).cancelled_requests, []);
    assert.equal(await auditHead(h), head);
    assert.equal(
      (await h.call(h.adminToken, "POST", "/api/users/bob/activate", { reason: "ok" })).status,
      200,
    );
  });

  test("a suspended user's API token answers 401 like any revoked token, as docs/api.md says; a live one 403 auth.suspended", async () => {
    const carol = await h.call(h.adminToken, "POST", "/api/users", {
      id: "carol",
      name: "Carol",
      roles: ["requester"],
    });
    assert.equal(carol.status, 201, JSON.stringify(carol.body));
    const made = await h.call(h.adminToken, "POST", "/api/tokens", { user: "carol", name: "t" });
    const token = (made.body as { token: string }).token;
    assert.equal(
      (await h.call(h.adminToken, "POST", "/api/users/carol/suspend", { reason: "r" })).status,
      200,
    );
    const revoked = await h.call(token, "GET", "/api/me");
    assert.equal(revoked.status, 401);
    assert.equal(errorOf(revoked).code, "auth.invalid", "a revoked token looks like any unknown one");

    // A token still live for a suspended user (suspended outside the use case, e.g. in a restored
    // state) is refused by the per-call check of the user.
    assert.equal(
      (await h.call(h.adminToken, "POST", "/api/users/carol/activate", { reason: "r" })).status,
      200,
    );
    const live = (
      (await h.call(h.adminToken, "POST", "/api/tokens", { user: "carol", name: "t2" })).body as {
        token: string;
      }
    ).token;
    await h.bot.store.updateTable("users").set({ status: "suspended" }).where("id", "=", "carol").execute();
    const refused = await h.call(live, "GET", "/api/me");
    assert.equal(refused.status, 403);
    assert.equal(errorOf(refused).code, "auth.suspended");

    const api = readFileSync("docs/api.md", "utf8");
    assert.match(api, /Suspending a user revokes every API token they hold/);
    assert.match(api, /`401 auth\.invalid`/);
  });

  test("refuses suspension by a non-admin, of oneself, without a reason, and of someone who does not exist", async () => {
    const bob = await h.tokenFor("bob");
    const head = await auditHead(h);
    const byBob = await h.call(bob, "POST", "/api/users/alice/suspend", { reason: "x" });
    assert.equal(byBob.status, 403);
    const self = await h.call(h.adminToken, "POST", "/api/users/root/suspend", { reason: "x" });
    assert.equal(self.status, 403);
    assert.match(errorOf(self).message, /yourself/);
    const denials = (await auditAfter(h, head)).filter((e) => e.action === "user.suspend_refused");
    assert.deepEqual(
      denials.map((e) => e.actor),
      ["user:bob", "user:root"],
    );
    assert.equal(
      (await h.call(h.adminToken, "POST", "/api/users/alice/suspend", { reason: "  " })).status,
      400,
    );
    assert.equal(
      (await h.call(h.adminToken, "POST", "/api/users/nobody/suspend", { reason: "x" })).status,
      404,
    );
  });

  test("never leaves dbward without an active admin", async () => {
    const rita = await h.tokenFor("rita");
    assert.equal(
      (await h.call(h.adminToken, "POST", "/api/users/rita/suspend", { reason: "holiday" })).status,
      200,
    );
    assert.equal((await h.call(rita, "GET", "/api/me")).status, 401);
    const lockout = await h.call(h.adminToken, "PATCH", "/api/users/root", { roles: ["requester"] });
    // root is declared in the config, which owns the roles; the lockout guard is checked on an admin-made admin.
    assert.equal(lockout.status, 409);
    const made = await h.call(h.adminToken, "POST", "/api/users", {
      id: "sam",
      name: "Sam",
      roles: ["admin"],
    });
    assert.equal(made.status, 201);
    const sam = await h.call(h.adminToken, "POST", "/api/tokens", { user: "sam", name: "t" });
    const samToken = (sam.body as { token: string }).token;
    assert.equal((await h.call(samToken, "POST", "/api/users/root/suspend", { reason: "x" })).status, 200);
    // root's tokens are revoked now: read the audit log as sam.
    const seqs = async (after: number) =>
      ((await h.call(samToken, "GET", `/api/audit?after=${after}&limit=1000`)).body as AuditListView).events;
    const head = (await seqs(0)).at(-1)?.seq ?? 0;
    const last = await h.call(samToken, "PATCH", "/api/users/sam", { roles: ["requester"] });
    assert.equal(last.status, 403);
    assert.match(errorOf(last).message, /no active admin/);
    const denied = (await seqs(head)).filter((e) => e.action === "user.update_refused");
    assert.deepEqual(
      denied.map((e) => e.actor),
      ["user:sam"],
      "the refusal is audited, the change rolled back",
    );
    assert.deepEqual(((await h.call(samToken, "GET", "/api/users/sam")).body as UserView).roles, ["admin"]);
    assert.equal(
      (await h.call(samToken, "POST", "/api/users/root/activate", { reason: "back" })).status,
      200,
    );
  });
});
