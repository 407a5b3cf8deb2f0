/**
 * OIDC bearer tokens against a real identity provider on loopback (test/support/oidc-provider.ts):
 * what is accepted, everything that is refused (SECURITY.md: forged API token, role escalation),
 * group mappings, just-in-time users, key rotation, and failing closed when the provider is down
 * while API tokens keep working.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { base64url, type MeView } from "@dbward/shared";
import { auditAfter, auditHead, errorOf } from "./support/audit-reader.ts";
import { startBotHarness, type BotHarness } from "./support/bot-harness.ts";
import { oidcBotConfig } from "./support/oidc-bot-config.ts";
import { IDP_AUDIENCE, startTestIdp, type TestIdp } from "./support/oidc-provider.ts";

describe("OIDC bearer tokens", () => {
  let idp: TestIdp;
  let h: BotHarness;
  before(async () => {
    idp = await startTestIdp();
    idp.accounts.set("sub-ada", {
      preferred_username: "ada",
      name: "Ada",
      email: "ada@example.com",
      groups: ["dbward-requesters"],
    });
    idp.accounts.set("sub-bo", {
      preferred_username: "bo",
      name: "Bo",
      groups: ["dbward-approvers", "unrelated"],
    });
    idp.accounts.set("sub-nobody", { preferred_username: "nobody", groups: ["unrelated"] });
    idp.accounts.set("sub-fake-alice", { preferred_username: "alice", groups: ["dbward-requesters"] });
    h = await startBotHarness(oidcBotConfig(idp.issuer, "create"));
  });
  after(async () => {
    await h.stop();
    await idp.stop();
  });

  const me = (token: string) => h.call(token, "GET", "/api/me");
  const lastAuthFailure = async (since: number) =>
    (await auditAfter(h, since)).filter((e) => e.action === "auth.failed").at(-1);

  async function assertRefused(token: string, why: string): Promise<void> {
    const head = await auditHead(h);
    const res = await me(token);
    assert.equal(res.status, 401, JSON.stringify(res.body));
    assert.equal(errorOf(res).code, "auth.invalid");
    assert.equal(errorOf(res).message, "authentication required: send a valid bearer token", "no hint");
    const failure = await lastAuthFailure(head);
    assert.equal(failure?.details.kind, "oidc");
    assert.equal(failure?.details.why, why);
  }

  test("accepts a provider-issued access token and creates the user just in time with the mapped roles", async () => {
    const head = await auditHead(h);
    const { access_token } = await idp.deviceLogin("sub-ada");
    const res = await me(access_token);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const view = res.body as MeView;
    assert.equal(view.user.id, "ada");
    assert.equal(view.user.source, "oidc");
    assert.equal(view.user.oidc_subject, `${idp.issuer}#sub-ada`);
    assert.equal(view.user.email, "ada@example.com");
    assert.deepEqual(view.roles, ["requester"]);
    assert.equal(view.via, "oidc");
    const created = (await auditAfter(h, head)).find((e) => e.action === "user.created");
    assert.equal(created?.target, "user:ada");
    assert.equal(created?.details.source, "oidc");
    // The same person again is the same user, not a second one.
    assert.equal(((await me(access_token)).body as MeView).user.id, "ada");
  });

  test("maps groups to roles and groups server-side, and follows a group change at the provider on the next call", async () => {
    const first = (await me((await idp.deviceLogin("sub-bo")).access_token)).body as MeView;
    assert.deepEqual(first.roles, ["approver"]);
    assert.deepEqual(first.user.groups, ["dba"]);
    idp.accounts.set("sub-bo", { preferred_username: "bo", name: "Bo", groups: ["dbward-requesters"] });
    const head = await auditHead(h);
    const second = (await me((await idp.deviceLogin("sub-bo")).access_token)).body as MeView;
    assert.deepEqual(second.roles, ["requester"]);
    assert.deepEqual(second.user.groups, []);
    const updated = (await auditAfter(h, head)).find((e) => e.action === "user.updated");
    assert.deepEqual(updated?.details.changed, ["roles", "groups_json"]);
  });

  test("never takes a role from a claim that names one: only the mappings count", async () => {
    const token = await idp.mint({
      sub: "sub-ada",
      roles: ["admin"],
      role: "admin",
      groups: ["dbward-requesters", "admin"],
    });
    assert.deepEqual(((await me(token)).body as MeView).roles, ["requester"]);
  });

  test("accepts RS256, ES256 and EdDSA signatures from the provider's published keys", async () => {
    for (const alg of ["RS256", "ES256", "EdDSA"] as const) {
      const res = await me(await idp.mint({ sub: "sub-ada" }, { alg }));
      assert.equal(res.status, 200, `${alg}: ${JSON.stringify(res.body)}`);
    }
  });

  test("refuses a token for another audience", async () => {
    await assertRefused(await idp.mint({ sub: "sub-ada", aud: "https://other.example" }), "wrong_audience");
  });

  test("refuses a token from another issuer, even one signed with the provider's key", async () => {
    await assertRefused(await idp.mint({ sub: "sub-ada", iss: "https://evil.example" }), "wrong_issuer");
  });

  test("refuses an expired token beyond the leeway, and accepts one within it", async () => {
    const now = Math.floor(Date.now() / 1000);
    await assertRefused(await idp.mint({ sub: "sub-ada", iat: now - 600, exp: now - 120 }), "expired");
    const res = await me(await idp.mint({ sub: "sub-ada", iat: now - 600, exp: now - 5 }));
    assert.equal(res.status, 200, "5 seconds late is within the 30-second leeway");
  });

  test("refuses a token without a subject", async () => {
    await assertRefused(await idp.mint({}), "missing_claim");
  });

  test("refuses alg none and HMAC tokens before looking at any key", async () => {
    const claims = base64url(
      Buffer.from(JSON.stringify({ iss: idp.issuer, aud: IDP_AUDIENCE, sub: "sub-ada", exp: 9e9 })),
    );
    const header = (alg: string) => base64url(Buffer.from(JSON.stringify({ alg, typ: "JWT" })));
    await assertRefused(`${header("none")}.${claims}.`, "alg_not_allowed");
    await assertRefused(`${header("HS256")}.${claims}.${base64url(Buffer.alloc(32, 1))}`, "alg_not_allowed");
  });

  test("refuses a token signed by a key the provider does not publish, and one whose signature does not match its key id", async () => {
    const foreign = await idp.foreignKey("ES256");
    await assertRefused(await idp.mint({ sub: "sub-ada" }, { key: foreign }), "unknown_key");
    const real = await idp.mint({ sub: "sub-ada" }, { alg: "ES256" });
    const [h64, p64] = real.split(".");
    const forged = await idp.mint(
      { sub: "sub-ada" },
      { key: { ...foreign, kid: JSON.parse(Buffer.from(h64 ?? "", "base64url").toString()).kid as string } },
    );
    await assertRefused(`${h64}.${p64}.${forged.split(".")[2]}`, "bad_signature");
  });

  test("refuses a just-in-time user whose groups grant no role, and audits who it was", async () => {
    const head = await auditHead(h);
    const res = await me((await idp.deviceLogin("sub-nobody")).access_token);
    assert.equal(res.status, 403);
    assert.equal(errorOf(res).code, "auth.forbidden");
    const failure = await lastAuthFailure(head);
    assert.equal(failure?.details.why, "no_mapped_role");
    assert.equal(failure?.details.oidc_subject, `${idp.issuer}#sub-nobody`);
  });

  test("never takes over an existing user by name: a provider account called alice is refused until an admin links it", async () => {
    const token = (await idp.deviceLogin("sub-fake-alice")).access_token;
    const head = await auditHead(h);
    const res = await me(token);
    assert.equal(res.status, 403);
    assert.match(errorOf(res).message, /not linked/);
    assert.equal((await lastAuthFailure(head))?.details.why, "id_taken");
  });

  test("refuses a suspended OIDC user at once, with a valid token", async () => {
    const token = (await idp.deviceLogin("sub-ada")).access_token;
    assert.equal((await me(token)).status, 200);
    const suspended = await h.call(h.adminToken, "POST", "/api/users/ada/suspend", { reason: "test" });
    assert.equal(suspended.status, 200, JSON.stringify(suspended.body));
    const res = await me(token);
    assert.equal(res.status, 403);
    assert.equal(errorOf(res).code, "auth.suspended");
    assert.equal(
      (await h.call(h.adminToken, "POST", "/api/users/ada/activate", { reason: "test" })).status,
      200,
    );
    assert.equal((await me(token)).status, 200, "activation restores access");
  });

  test("fetches the key set again when the provider rotates its keys, and then refuses tokens of the retired keys", async () => {
    const before = (await idp.deviceLogin("sub-ada")).access_token;
    assert.equal((await me(before)).status, 200);
    await idp.rotateKeys();
    const rotated = (await idp.deviceLogin("sub-ada")).access_token;
    assert.equal((await me(rotated)).status, 200, "a new key id makes the bot fetch the key set again");
    await assertRefused(before, "unknown_key");
  });

  test("fails closed while the key set endpoint is down, and API tokens keep working", async () => {
    const fresh = await startBotHarness(oidcBotConfig(idp.issuer, "create"));
    try {
      const token = (await idp.deviceLogin("sub-ada")).access_token;
      idp.jwksDown = true;
      const refused = await fresh.call(token, "GET", "/api/me");
      assert.equal(refused.status, 401);
      const failure = (await auditAfter(fresh)).filter((e) => e.action === "auth.failed").at(-1);
      assert.equal(failure?.details.why, "idp_unreachable");
      assert.equal(
        (await fresh.call(fresh.adminToken, "GET", "/api/me")).status,
        200,
        "API tokens do not need the provider",
      );
      idp.jwksDown = false;
      assert.equal(
        (await fresh.call(token, "GET", "/api/me")).status,
        200,
        "it recovers once the provider answers",
      );
    } finally {
      idp.jwksDown = false;
      await fresh.stop();
    }
  });

  test("fails closed when the provider cannot be reached at all, and API tokens keep working", async () => {
    const gone = await startTestIdp();
    gone.accounts.set("sub-ada", { preferred_username: "ada", groups: ["dbward-requesters"] });
    const token = (await gone.deviceLogin("sub-ada")).access_token;
    const bot = await startBotHarness(oidcBotConfig(gone.issuer, "create"));
    try {
      await gone.stop();
      const res = await bot.call(token, "GET", "/api/me");
      assert.equal(res.status, 401);
      assert.equal(errorOf(res).code, "auth.invalid");
      const failure = (await auditAfter(bot)).filter((e) => e.action === "auth.failed").at(-1);
      assert.equal(failure?.details.why, "idp_unreachable");
      assert.equal((await bot.call(bot.adminToken, "GET", "/api/me")).status, 200);
    } finally {
      await bot.stop();
    }
  });
});

describe("OIDC with just-in-time creation refused", () => {
  let idp: TestIdp;
  let h: BotHarness;
  before(async () => {
    idp = await startTestIdp();
    idp.accounts.set("sub-alice", { preferred_username: "alice.smith", groups: ["dbward-approvers"] });
    h = await startBotHarness(oidcBotConfig(idp.issuer, "refuse"));
  });
  after(async () => {
    await h.stop();
    await idp.stop();
  });

  test("refuses an unknown identity, audits its subject, and accepts it once an admin links it to a user", async () => {
    const token = (await idp.deviceLogin("sub-alice")).access_token;
    const head = await auditHead(h);
    const refused = await h.call(token, "GET", "/api/me");
    assert.equal(refused.status, 403);
    assert.match(errorOf(refused).message, /ask an admin/);
    const failure = (await auditAfter(h, head)).find((e) => e.action === "auth.failed");
    assert.equal(failure?.details.why, "not_enrolled");
    const subject = String(failure?.details.oidc_subject);
    assert.equal(subject, `${idp.issuer}#sub-alice`);
    assert.equal((await h.call(h.adminToken, "GET", "/api/users")).status, 200);
    const linked = await h.call(h.adminToken, "PATCH", "/api/users/alice", { oidc_subject: subject });
    assert.equal(linked.status, 200, JSON.stringify(linked.body));
    const res = await h.call(token, "GET", "/api/me");
    assert.equal(res.status, 200);
    const view = res.body as MeView;
    assert.equal(view.user.id, "alice");
    assert.deepEqual(
      view.roles,
      ["requester"],
      "a config user keeps the config's roles, whatever the groups say",
    );
  });

  test("refuses a JWT-shaped bearer on a bot without OIDC, like any unknown token", async () => {
    const plain = await startBotHarness();
    try {
      const res = await plain.call(await idp.mint({ sub: "sub-alice" }), "GET", "/api/requests");
      assert.equal(res.status, 401);
      assert.equal(errorOf(res).code, "auth.invalid");
    } finally {
      await plain.stop();
    }
  });
});
