/**
 * User administration through the API (the same use cases the Slack admin modals call): adding
 * users, changing roles and groups, config-declared users the config keeps owning, and the join
 * request flow with its expiry. Every change is an audit event with the admin as actor.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { parseBotConfig } from "@dbward/bot";
import {
  DbwardError,
  type JoinRequestListView,
  type JoinRequestView,
  type UserListView,
  type UserView,
} from "@dbward/shared";
import { createJoinRequest } from "../bot/src/use-cases/create-join-request.ts";
import { expireJoinRequests } from "../bot/src/use-cases/expire-join-requests.ts";
import { sweep } from "../bot/src/use-cases/sweep.ts";
import { auditAfter, auditHead, errorOf, GENEROUS_LIMITS } from "./support/audit-reader.ts";
import { startBotHarness, type BotHarness } from "./support/bot-harness.ts";

const config = (aliceName: string): string => `
databases:
  - { name: legacy, dialect: mysql, environments: [production] }
workflows:
  - { name: reads, operations: [read], auto_approve: always }
roles:
  dba-lead:
    permissions: [request.view_all, audit.read]
users:
  - { id: alice, name: ${aliceName}, roles: [requester], slack_user_id: U0ALICE }
  - { id: root, name: Root, roles: [admin] }
join_requests:
  allowed_roles: [requester]
  ttl_hours: 24
${GENEROUS_LIMITS}`;

describe("user administration", () => {
  let h: BotHarness;
  before(async () => {
    h = await startBotHarness(config("Alice"));
  });
  after(async () => h.stop());

  const post = (path: string, body: unknown) => h.call(h.adminToken, "POST", path, body);
  const patch = (path: string, body: unknown) => h.call(h.adminToken, "PATCH", path, body);

  test("an admin adds a user with a Slack link, roles and groups; the change is audited with the admin as actor", async () => {
    const head = await auditHead(h);
    const res = await post("/api/users", {
      id: "carol",
      name: "Carol",
      email: "carol@example.com",
      slack_user_id: "U0CAROL",
      roles: ["requester", "dba-lead"],
      groups: ["dba"],
    });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    const carol = res.body as UserView;
    assert.deepEqual(
      [carol.source, carol.status, carol.roles, carol.groups],
      ["admin", "active", ["dba-lead", "requester"], ["dba"]],
    );
    const created = (await auditAfter(h, head)).find((e) => e.action === "user.created");
    assert.equal(created?.actor, "user:root");
    assert.equal(created?.target, "user:carol");
  });

  test("makes an id from the email when none is given", async () => {
    const res = await post("/api/users", {
      name: "Dan Brown",
      email: "Dan.Brown@example.com",
      roles: ["requester"],
    });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    assert.equal((res.body as UserView).id, "dan.brown");
  });

  test("refuses a taken id, a Slack id linked to someone else, an unknown role and a bad email", async () => {
    const taken = await post("/api/users", { id: "alice", name: "Other", roles: ["requester"] });
    assert.equal(taken.status, 409);
    assert.equal(errorOf(taken).code, "user.exists");
    const slack = await post("/api/users", {
      id: "eve",
      name: "Eve",
      slack_user_id: "U0ALICE",
      roles: ["requester"],
    });
    assert.equal(slack.status, 409);
    assert.match(errorOf(slack).message, /linked to alice/);
    const role = await post("/api/users", { id: "eve", name: "Eve", roles: ["superuser"] });
    assert.equal(role.status, 400);
    assert.match(errorOf(role).message, /unknown role superuser/);
    assert.equal(
      (await post("/api/users", { id: "eve", name: "Eve", email: "not an email", roles: ["requester"] }))
        .status,
      400,
    );
    assert.equal((await post("/api/users", { id: "Eve!", name: "Eve", roles: ["requester"] })).status, 400);
  });

  test("changes an admin-made user's roles and groups, recording before and after; an unchanged patch records nothing", async () => {
    assert.equal((await post("/api/users", { id: "gina", name: "Gina", roles: ["requester"] })).status, 201);
    const head = await auditHead(h);
    const res = await patch("/api/users/gina", { roles: ["approver"], groups: ["payments"] });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.deepEqual((res.body as UserView).roles, ["approver"]);
    const updated = (await auditAfter(h, head)).find((e) => e.action === "user.updated");
    assert.deepEqual(updated?.details.changed, ["roles", "groups_json"]);
    assert.deepEqual(updated?.details.before, { roles: '["requester"]', groups_json: "[]" });
    const again = await auditHead(h);
    assert.equal((await patch("/api/users/gina", { roles: ["approver"] })).status, 200);
    assert.equal(await auditHead(h), again);
  });

  test("refuses to change what the config owns for a config-declared user, but lets an admin link an identity", async () => {
    const res = await patch("/api/users/alice", { roles: ["approver"] });
    assert.equal(res.status, 409);
    assert.equal(errorOf(res).code, "user.managed_elsewhere");
    assert.match(errorOf(res).message, /config file/);
    const link = await patch("/api/users/alice", { oidc_subject: "https://idp.example#123" });
    assert.equal(link.status, 200, JSON.stringify(link.body));
  });

  test("a reload syncs config fields and keeps a suspension", async () => {
    assert.equal((await post("/api/users/alice/suspend", { reason: "audit" })).status, 200);
    await h.bot.reload(parseBotConfig(config("Alice Liddell")));
    const alice = (await h.call(h.adminToken, "GET", "/api/users/alice")).body as UserView;
    assert.equal(alice.name, "Alice Liddell");
    assert.equal(alice.status, "suspended", "status is not a config field");
    assert.equal(alice.oidc_subject, "https://idp.example#123", "a link the config does not set survives");
    assert.equal((await post("/api/users/alice/activate", { reason: "ok" })).status, 200);
  });

  test("anyone may read their own record; others' need user.read", async () => {
    const alice = await h.tokenFor("alice");
    assert.equal((await h.call(alice, "GET", "/api/users/alice")).status, 200);
    assert.equal((await h.call(alice, "GET", "/api/users/root")).status, 403);
    const list = (await h.call(h.adminToken, "GET", "/api/users")).body as UserListView;
    assert.ok(list.users.some((u) => u.id === "alice"));
  });
});

describe("join requests", () => {
  let h: BotHarness;
  before(async () => {
    h = await startBotHarness(config("Alice"));
  });
  after(async () => h.stop());

  const ask = (slackUserId: string, overrides: Record<string, unknown> = {}) =>
    createJoinRequest(h.bot.ctx, {
      slackUserId,
      name: "Hana Ito",
      email: "hana@example.com",
      requestedRole: "requester",
      reason: "on-call",
      ...overrides,
    });
  const refusedWith = (code: string) => (err: unknown) => err instanceof DbwardError && err.code === code;

  test("approval creates the user atomically with the Slack link and the requested role, and decides once", async () => {
    const head = await auditHead(h);
    const join = await ask("U0HANA");
    assert.equal(join.status, "pending");
    const listed = (await h.call(h.adminToken, "GET", "/api/join-requests?status=pending"))
      .body as JoinRequestListView;
    assert.ok(listed.join_requests.some((j) => j.id === join.id));
    const res = await h.call(h.adminToken, "POST", `/api/join-requests/${join.id}/approve`, {});
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const decided = res.body as JoinRequestView;
    assert.deepEqual(
      [decided.status, decided.user_id, decided.decided_by],
      ["approved", "hana", "user:root"],
    );
    const hana = (await h.call(h.adminToken, "GET", "/api/users/hana")).body as UserView;
    assert.deepEqual(
      [hana.slack_user_id, hana.roles, hana.email],
      ["U0HANA", ["requester"], "hana@example.com"],
    );
    const actions = (await auditAfter(h, head)).map((e) => e.action);
    assert.deepEqual(
      actions.filter((a) => a.startsWith("join.") || a === "user.created"),
      ["join.requested", "user.created", "join.approved"],
    );
    const twice = await h.call(h.adminToken, "POST", `/api/join-requests/${join.id}/approve`, {});
    assert.equal(twice.status, 409);
    assert.equal(errorOf(twice).code, "join.not_pending");
  });

  test("refuses a join request from a known person, a second pending one, a role not on the allowed list, and no reason", async () => {
    await assert.rejects(ask("U0ALICE"), refusedWith("user.exists"));
    await ask("U0IVAN");
    await assert.rejects(ask("U0IVAN"), refusedWith("quota.exceeded"));
    await assert.rejects(ask("U0JO", { requestedRole: "admin" }), refusedWith("request.invalid"));
    await assert.rejects(ask("U0JO", { reason: " " }), refusedWith("request.invalid"));
  });

  test("a rejection needs a reason and creates no user", async () => {
    const join = await ask("U0KIM", { name: "Kim", email: "kim@example.com" });
    assert.equal(
      (await h.call(h.adminToken, "POST", `/api/join-requests/${join.id}/reject`, {})).status,
      400,
    );
    const res = await h.call(h.adminToken, "POST", `/api/join-requests/${join.id}/reject`, {
      reason: "not on the team",
    });
    assert.equal(res.status, 200);
    assert.equal((res.body as JoinRequestView).status, "rejected");
    assert.equal((await h.call(h.adminToken, "GET", "/api/users/kim")).status, 404);
  });

  test("an undecided request expires in the sweep, is audited, and can no longer be approved", async () => {
    const join = await ask("U0LEO", { name: "Leo", email: "leo@example.com" });
    await h.bot.store
      .updateTable("join_requests")
      .set({ expires_at: new Date(Date.now() - 1000).toISOString() })
      .where("id", "=", join.id)
      .execute();
    const head = await auditHead(h);
    const report = await sweep(h.bot.ctx);
    assert.equal(report.joinRequestsExpired, 1);
    assert.deepEqual(
      (await auditAfter(h, head)).map((e) => [e.action, e.target]),
      [["join.expired", `join:${join.id}`]],
    );
    const res = await h.call(h.adminToken, "POST", `/api/join-requests/${join.id}/approve`, {});
    assert.equal(res.status, 409);
  });

  test("tells the adapter about each expiry after it committed, so the person can be told", async () => {
    const join = await ask("U0MIA", { name: "Mia", email: "mia@example.com" });
    await h.bot.store
      .updateTable("join_requests")
      .set({ expires_at: new Date(Date.now() - 1000).toISOString() })
      .where("id", "=", join.id)
      .execute();
    const told: JoinRequestView[] = [];
    const expired = await expireJoinRequests({ ...h.bot.ctx, afterJoinRequestExpired: (v) => told.push(v) });
    assert.deepEqual(
      expired.map((v) => v.id),
      [join.id],
    );
    assert.deepEqual(
      told.map((v) => [v.id, v.status, v.slack_user_id]),
      [[join.id, "expired", "U0MIA"]],
    );
  });
});

describe("audit list filters", () => {
  let h: BotHarness;
  before(async () => {
    h = await startBotHarness(config("Alice"));
  });
  after(async () => h.stop());

  test("filters by actor, exact action, action prefix and time range", async () => {
    const since = new Date().toISOString();
    assert.equal(
      (await h.call(h.adminToken, "POST", "/api/users", { id: "zed", name: "Zed", roles: ["requester"] }))
        .status,
      201,
    );
    assert.equal((await h.call(h.adminToken, "POST", "/api/tokens", { user: "zed", name: "z" })).status, 201);
    const get = async (q: string) => {
      const res = await h.call(h.adminToken, "GET", `/api/audit?${q}`);
      assert.equal(res.status, 200, JSON.stringify(res.body));
      return (res.body as { events: { actor: string; action: string; time: string }[] }).events;
    };
    const byRoot = await get(`actor=user:root&since=${encodeURIComponent(since)}`);
    assert.deepEqual(
      byRoot.map((e) => e.action),
      ["user.created", "token.created"],
    );
    assert.deepEqual(
      (await get("action=token.created")).map((e) => e.action).every((a) => a === "token.created"),
      true,
    );
    const prefixed = await get("action=user.*");
    assert.ok(prefixed.length > 0 && prefixed.every((e) => e.action.startsWith("user.")));
    assert.deepEqual(await get(`until=${encodeURIComponent("2000-01-01T00:00:00Z")}`), []);
    assert.equal((await h.call(h.adminToken, "GET", "/api/audit?since=yesterday")).status, 400);
  });
});
