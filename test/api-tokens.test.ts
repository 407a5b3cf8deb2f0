/**
 * API token lifecycle over real HTTP (SECURITY.md: forged API token): self-service creation,
 * ceilings, expiry, revocation on the next call, the per-user bound, listing without secrets,
 * agent tokens kept to agent endpoints, and malformed bearer values answered without a hint.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import {
  sha256Hex,
  type CreatedTokenView,
  type MeView,
  type TokenListView,
  type TokenView,
} from "@dbward/shared";
import { MAX_LIVE_TOKENS_PER_USER } from "../bot/src/use-cases/create-api-token.ts";
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
  - { id: alice, name: Alice, roles: [requester] }
  - { id: bob, name: Bob, roles: [approver] }
  - { id: dave, name: Dave, roles: [requester, approver] }
  - { id: frank, name: Frank, roles: [requester] }
  - { id: root, name: Root, roles: [admin] }
agents:
  - id: agent-1
${GENEROUS_LIMITS}`;

const NO_HINT = "authentication required: send a valid bearer token";

describe("API tokens", () => {
  let h: BotHarness;
  before(async () => {
    h = await startBotHarness(CONFIG);
  });
  after(async () => h.stop());

  async function create(token: string, body: Record<string, unknown>): Promise<CreatedTokenView> {
    const res = await h.call(token, "POST", "/api/tokens", body);
    assert.equal(res.status, 201, JSON.stringify(res.body));
    return res.body as CreatedTokenView;
  }
  const me = async (token: string) => h.call(token, "GET", "/api/me");

  test("a requester creates a token of their own; the secret is shown once and only its hash is stored", async () => {
    const alice = await h.tokenFor("alice");
    const head = await auditHead(h);
    const t = await create(alice, { name: "laptop", expires_in_days: 30 });
    assert.equal(t.user, "alice");
    assert.match(t.token, /^dbw_[A-Za-z0-9_-]{43}$/);
    assert.equal(t.roles, null);
    assert.ok(t.expires_at !== null && Date.parse(t.expires_at) > Date.now() + 29 * 86_400_000);
    assert.equal(((await me(t.token)).body as MeView).user.id, "alice");
    const row = await h.bot.store
      .selectFrom("api_tokens")
      .selectAll()
      .where("id", "=", t.id)
      .executeTakeFirstOrThrow();
    assert.equal(row.secret_sha256, sha256Hex(t.token));
    assert.equal(row.created_by, "user:alice");
    const created = (await auditAfter(h, head)).find((e) => e.action === "token.created");
    assert.equal(created?.actor, "user:alice");
    assert.ok(!JSON.stringify(created).includes(t.token), "the audit trail never holds a secret");
  });

  test("listing never shows a secret or its hash, only a short hint", async () => {
    const alice = await h.tokenFor("alice");
    const t = await create(alice, { name: "listed" });
    const res = await h.call(alice, "GET", "/api/tokens");
    assert.equal(res.status, 200);
    const text = JSON.stringify(res.body);
    assert.ok(!text.includes(t.token) && !text.includes(sha256Hex(t.token)) && !text.includes("sha256"));
    const view = (res.body as TokenListView).tokens.find((x) => x.id === t.id);
    assert.equal(view?.hint, `${t.token.slice(0, 12)}…`);
    assert.equal(view?.status, "active");
    assert.ok(
      (res.body as TokenListView).tokens.every((x) => x.subject === "alice"),
      "only one's own",
    );
  });

  test("a revoked token is refused on its very next call, and revoking twice records once", async () => {
    const alice = await h.tokenFor("alice");
    const t = await create(alice, { name: "to revoke" });
    assert.equal((await me(t.token)).status, 200);
    const head = await auditHead(h);
    const res = await h.call(alice, "DELETE", `/api/tokens/${t.id}`);
    assert.equal(res.status, 200);
    assert.equal((res.body as TokenView).status, "revoked");
    assert.equal((await me(t.token)).status, 401);
    assert.equal((await h.call(alice, "DELETE", `/api/tokens/${t.id}`)).status, 200);
    assert.equal((await auditAfter(h, head)).filter((e) => e.action === "token.revoked").length, 1);
  });

  test("an expired token is refused and listed as expired", async () => {
    const alice = await h.tokenFor("alice");
    const t = await create(alice, { name: "short", expires_in_days: 1 });
    await h.bot.store
      .updateTable("api_tokens")
      .set({ expires_at: new Date(Date.now() - 1000).toISOString() })
      .where("id", "=", t.id)
      .execute();
    assert.equal((await me(t.token)).status, 401);
    const listed = ((await h.call(alice, "GET", "/api/tokens")).body as TokenListView).tokens.find(
      (x) => x.id === t.id,
    );
    assert.equal(listed?.status, "expired");
  });

  test("refuses expiries outside 1-366 days", async () => {
    const alice = await h.tokenFor("alice");
    for (const days of [0, 367, 1.5, "7"]) {
      const res = await h.call(alice, "POST", "/api/tokens", { name: "x", expires_in_days: days });
      assert.equal(res.status, 400, String(days));
    }
  });

  test("a token with a ceiling acts with at most those roles, even where the user has more", async () => {
    const dave = await h.tokenFor("dave");
    const narrow = await create(dave, { name: "ci", roles: ["requester"] });
    assert.deepEqual(narrow.roles, ["requester"]);
    assert.deepEqual(((await me(narrow.token)).body as MeView).roles, ["requester"]);
    const alice = await h.tokenFor("alice");
    const req = await h.call(alice, "POST", "/api/requests", {
      database: "legacy",
      environment: "production",
      sql: "UPDATE t SET a = 1 WHERE id = 1",
      reason: "r",
    });
    assert.equal(req.status, 201, JSON.stringify(req.body));
    const id = (req.body as { id: number }).id;
    const refused = await h.call(narrow.token, "POST", `/api/requests/${id}/approve`, {});
    // Above the ceiling: not an approver, not even someone who sees others' requests.
    assert.equal(refused.status, 404, JSON.stringify(refused.body));
    assert.equal((await h.call(dave, "POST", `/api/requests/${id}/approve`, {})).status, 200);
  });

  test("refuses a ceiling beyond the user's roles, and a narrowed token cannot mint a wider one", async () => {
    const alice = await h.tokenFor("alice");
    const head = await auditHead(h);
    const res = await h.call(alice, "POST", "/api/tokens", { name: "escalate", roles: ["admin"] });
    assert.equal(res.status, 403);
    assert.equal(errorOf(res).code, "auth.forbidden");
    assert.ok(
      (await auditAfter(h, head)).some(
        (e) => e.action === "token.create_refused" && e.actor === "user:alice",
      ),
    );
    const narrow = await create(await h.tokenFor("dave"), { name: "narrow", roles: ["requester"] });
    const child = await create(narrow.token, { name: "child" });
    assert.deepEqual(child.roles, ["requester"], "a token made with a narrowed token inherits its ceiling");
    assert.equal(
      (await h.call(narrow.token, "POST", "/api/tokens", { name: "wider", roles: ["approver"] })).status,
      403,
    );
  });

  test(`a user holds at most ${MAX_LIVE_TOKENS_PER_USER} live tokens; revoked and expired ones do not count`, async () => {
    const frank = await h.tokenFor("frank"); // the harness made one
    const made: CreatedTokenView[] = [];
    for (let i = 1; i < MAX_LIVE_TOKENS_PER_USER; i++) made.push(await create(frank, { name: `t${i}` }));
    const over = await h.call(frank, "POST", "/api/tokens", { name: "one too many" });
    assert.equal(over.status, 409);
    assert.equal(errorOf(over).code, "quota.exceeded");
    assert.equal(
      (await h.call(h.adminToken, "POST", "/api/tokens", { user: "frank", name: "admin too" })).status,
      409,
    );
    assert.equal((await h.call(frank, "DELETE", `/api/tokens/${made[0]?.id}`)).status, 200);
    await create(frank, { name: "after a revoke" });
    await h.bot.store
      .updateTable("api_tokens")
      .set({ expires_at: new Date(Date.now() - 1000).toISOString() })
      .where("id", "=", made[1]?.id ?? "")
      .execute();
    await create(frank, { name: "after an expiry" });
  });

  test("others' tokens: refused for a non-admin (and not revealed), managed by an admin", async () => {
    const alice = await h.tokenFor("alice");
    const bobs = await create(h.adminToken, { user: "bob", name: "issued by root" });
    assert.equal((await h.call(alice, "POST", "/api/tokens", { user: "bob", name: "x" })).status, 403);
    assert.equal((await h.call(alice, "GET", "/api/tokens?user=bob")).status, 403);
    assert.equal((await h.call(alice, "GET", "/api/tokens?all=true")).status, 403);
    const head = await auditHead(h);
    const probe = await h.call(alice, "DELETE", `/api/tokens/${bobs.id}`);
    assert.equal(probe.status, 404, "someone else's token reads as missing");
    const missing = await h.call(alice, "DELETE", "/api/tokens/tok_nonexistent");
    assert.equal(missing.status, 404);
    assert.equal(
      errorOf(probe).message,
      `there is no token ${bobs.id}`,
      "worded exactly as for a token that does not exist",
    );
    assert.ok((await auditAfter(h, head)).some((e) => e.action === "token.revoke_refused"));
    const bobsList = (await h.call(h.adminToken, "GET", "/api/tokens?user=bob")).body as TokenListView;
    assert.ok(bobsList.tokens.some((t) => t.id === bobs.id));
    assert.equal((await h.call(h.adminToken, "DELETE", `/api/tokens/${bobs.id}`)).status, 200);
    assert.equal((await me(bobs.token)).status, 401);
  });

  test("agent tokens work only on agent endpoints, user tokens never there, and an admin can revoke an agent's", async () => {
    const agent = h.agentTokens["agent-1"] ?? "";
    const alice = await h.tokenFor("alice");
    const poll = (token: string) =>
      h.call(token, "POST", "/api/agent/poll", { capabilities: [], wait_ms: 0 });
    assert.equal((await poll(agent)).status, 200);
    assert.equal((await poll(alice)).status, 401);
    assert.equal((await me(agent)).status, 401);
    assert.equal((await h.call(agent, "GET", "/api/requests")).status, 401);
    const all = (await h.call(h.adminToken, "GET", "/api/tokens?all=true")).body as TokenListView;
    const agentToken = all.tokens.find(
      (t) => t.kind === "agent" && t.subject === "agent-1" && t.status === "active",
    );
    assert.ok(agentToken !== undefined);
    assert.equal(agentToken.hint.startsWith("dbwa_"), true);
    assert.equal((await h.call(h.adminToken, "DELETE", `/api/tokens/${agentToken.id}`)).status, 200);
    assert.equal((await poll(agent)).status, 401);
  });

  test("answers malformed bearer values with the same 401 and no hint about what exists", async () => {
    const valid = await h.tokenFor("alice");
    const headers: (string | undefined)[] = [
      undefined,
      "",
      "Bearer",
      "Bearer ",
      "Basic YWxpY2U6aHVudGVyMg==",
      `Bearer  ${valid}`,
      `Bearer ${valid}x`,
      `Bearer ${valid.slice(0, -1)}`,
      `bearer${valid}`,
      `Bearer ${"a".repeat(9000)}`,
      `Bearer dbw_${"é".repeat(43)}`,
      "Bearer eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.eyJzdWIiOiJyb290In0.",
      "Bearer garbage",
      `Bearer dbwa_${valid.slice(4)}`,
    ];
    for (const authorization of headers) {
      const res = await fetch(`${h.url}/api/me`, {
        headers: authorization === undefined ? {} : { authorization },
      });
      const body = (await res.json()) as { error: { code: string; message: string } };
      const label = JSON.stringify(authorization?.slice(0, 40));
      assert.equal(res.status, 401, label);
      assert.ok(["auth.missing", "auth.invalid"].includes(body.error.code), label);
      assert.equal(body.error.message, NO_HINT, label);
    }
  });
});
