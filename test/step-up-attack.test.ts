/**
 * Step-up approvals under attack (docs/security-hardening.md "Step-up approvals", threat model
 * T-STEPUP rows): a real bot, Slack requests signed as Slack signs them into the fake Slack, the
 * real OIDC provider (test/support/oidc-provider.ts) and a hostile one that signs any ID token
 * it is told to (test/support/hostile-oidc-provider.ts). Each test is an attack a user holding
 * someone's Slack session, a leaked link, or a lying provider would try; each asserts the request
 * stayed unapproved (or approved by the right person only) and why.
 */
import assert from "node:assert/strict";
import { Writable } from "node:stream";
import { after, before, beforeEach, describe, test } from "node:test";
import pino from "pino";
import type { AuditEvent, RequestView } from "@dbward/shared";
import { listAudit, parseBotConfig } from "@dbward/bot";
import { SLACK_IDS } from "../bot/src/slack/ids.ts";
import { GENEROUS_LIMITS, errorOf } from "./support/audit-reader.ts";
import { startBotHarness, type BotHarness } from "./support/bot-harness.ts";
import { FakeSlack } from "./support/fake-slack.ts";
import { sharedPostgresState, type SharedState } from "./support/shared-state-bots.ts";
import { startHostileIdp, type HostileIdp } from "./support/hostile-oidc-provider.ts";
import { IDP_CLIENT_ID, IDP_STEP_UP_CLIENT_ID, startTestIdp, type TestIdp } from "./support/oidc-provider.ts";
import { StepUpBrowser, type Page } from "./support/step-up-browser.ts";
import { SlackRequests } from "./slack/slack-requests.ts";
import { textOf } from "./slack/slack-harness.ts";

const U = { alice: "U0ALICE01", bob: "U0BOB0001", carol: "U0CAROL01", erin: "U0ERIN001" } as const;
const CHANNEL = "C0APPROVALS";

function config(issuer: string, publicUrl: string, stepUp = true): string {
  return `
databases:
  - { name: shop, dialect: postgres, environments: [production, qa] }
workflows:
  - name: prod-writes
    database: shop
    environment: production
    operations: [write]
${stepUp ? "    step_up: oidc" : ""}
    steps:
      - approvers: ["role:approver"]
  - name: qa-writes
    database: shop
    environment: qa
    operations: [write]
${stepUp ? "    step_up: oidc" : ""}
    steps:
      - approvers: ["role:approver"]
      - approvers: ["role:approver"]
users:
  - { id: alice, name: Alice, slack_user_id: ${U.alice}, roles: [requester] }
  - { id: bob, name: Bob, slack_user_id: ${U.bob}, roles: [approver], oidc_subject: "${issuer}#sub-bob" }
  - { id: carol, name: Carol, slack_user_id: ${U.carol}, roles: [approver], oidc_subject: "${issuer}#sub-carol" }
  - { id: erin, name: Erin, slack_user_id: ${U.erin}, roles: [approver] }
  - { id: root, name: Root, roles: [admin] }
bootstrap_admin: root
oidc:
  issuer: ${issuer}
  client_id: ${IDP_CLIENT_ID}
  bearer: id_token
  audience: ${IDP_CLIENT_ID}
  jwks_cooldown_seconds: 0
${
  stepUp
    ? `step_up:
  public_url: ${publicUrl}
  client_id: ${IDP_STEP_UP_CLIENT_ID}
  max_age: 5m
  link_ttl: 2m`
    : ""
}
slack:
  approvals_channel: ${CHANNEL}
${GENEROUS_LIMITS}`;
}

/** One bot with the fake Slack and the given provider; what every describe below shares. */
function stepUpBot(issuer: () => string): {
  h: () => BotHarness;
  fake: () => FakeSlack;
  logs: string[];
  ask(sql: string, environment?: string): Promise<number>;
  click(slackUser: string, id: number): Promise<string>;
  view(id: number): Promise<RequestView>;
  head(): Promise<number>;
  after(seq: number): Promise<AuditEvent[]>;
  refusedWhy(seq: number): Promise<unknown[]>;
  nothingApproved(id: number): Promise<void>;
  reload(text: string): Promise<void>;
  /** Moves the bot's clock (not the provider's) by this many milliseconds. */
  setOffset(ms: number): void;
  start(): Promise<void>;
  stop(): Promise<void>;
} {
  let h: BotHarness | undefined;
  let fake: FakeSlack | undefined;
  let slack: SlackRequests | undefined;
  const logs: string[] = [];
  let offsetMs = 0;
  const harness = (): BotHarness => {
    assert.ok(h !== undefined);
    return h;
  };
  const fakeSlack = (): FakeSlack => {
    assert.ok(fake !== undefined);
    return fake;
  };
  const settle = async (): Promise<void> => {
    await harness().bot.slack?.idle();
  };
  const audit = (): Promise<AuditEvent[]> => listAudit(harness().bot.store);
  const afterSeq = async (seq: number): Promise<AuditEvent[]> => (await audit()).filter((e) => e.seq > seq);
  const view = async (id: number): Promise<RequestView> =>
    (await harness().call(harness().adminToken, "GET", `/api/requests/${id}`)).body as RequestView;
  return {
    h: harness,
    fake: fakeSlack,
    logs,
    async start() {
      fake = await FakeSlack.start();
      const sink = new Writable({
        write(chunk: Buffer, _enc, done) {
          logs.push(chunk.toString("utf8"));
          done();
        },
      });
      h = await startBotHarness(config(issuer(), "http://127.0.0.1:9"), {
        slack: { env: fake.env(), options: { retry: { attempts: 4, baseDelayMs: 5, maxDelayMs: 50 } } },
        logger: pino({ level: "info" }, sink),
        clock: { now: () => new Date(Date.now() + offsetMs) },
      });
      await h.bot.reload({ ...parseBotConfig(config(issuer(), h.url)), state: h.bot.ctx.config().state });
      slack = new SlackRequests(`${h.url}/slack/events`, fake);
    },
    async stop() {
      await h?.stop();
      await fake?.close();
    },
    setOffset(ms) {
      offsetMs = ms;
    },
    async reload(text) {
      await harness().bot.reload({ ...parseBotConfig(text), state: harness().bot.ctx.config().state });
    },
    async ask(sql, environment = "production") {
      assert.ok(slack !== undefined);
      fakeSlack().clear();
      await slack.command(U.alice, `query shop ${environment} "fix it" ${sql}`);
      await settle();
      const id = /Request #(\d+) created/.exec(textOf(fakeSlack().of("response_url").at(-1)))?.[1];
      assert.ok(id !== undefined, "request created");
      await fakeSlack().waitFor(`the approval post of #${id}`, (calls) =>
        calls.some((c) => c.method === "chat.postMessage" && textOf(c as never).includes(`Request #${id}`)),
      );
      fakeSlack().clear();
      return Number(id);
    },
    async click(slackUser, id) {
      assert.ok(slack !== undefined);
      fakeSlack().clear();
      const res = await slack.click(slackUser, SLACK_IDS.actions.approve, String(id), CHANNEL);
      assert.equal(res.status, 200);
      await settle();
      const answers = fakeSlack().of("response_url");
      assert.equal(answers.length, 1, "one private answer");
      return textOf(answers[0]);
    },
    view,
    head: async () => (await audit()).at(-1)?.seq ?? 0,
    after: afterSeq,
    refusedWhy: async (seq) =>
      (await afterSeq(seq)).filter((e) => e.action === "step_up.refused").map((e) => e.details.why),
    async nothingApproved(id) {
      const r = await view(id);
      assert.deepEqual(
        r.approvals.filter((a) => a.decision === "approved"),
        [],
        "no approval recorded",
      );
    },
  };
}

function linkIn(answer: string): string {
  const url = /<(http[^|>]+)\|Sign in again/.exec(answer)?.[1];
  assert.ok(url !== undefined, `a sign-in link in: ${answer}`);
  return url;
}

/** `name=value` of a cookie a response set, for a request's Cookie header. */
function cookieOf(res: Response, name: string): string {
  const set = res.headers.getSetCookie().find((c) => c.startsWith(`${name}=`));
  assert.ok(set !== undefined, `${name} was set`);
  return set.split(";")[0] ?? "";
}

const isCallback = (u: URL): boolean => u.pathname === "/step-up/callback";

async function stopAtCallback(browser: StepUpBrowser, link: string): Promise<URL> {
  const r = await browser.open(link, isCallback);
  assert.ok("stoppedAt" in r, "the provider sent the browser back");
  return r.stoppedAt;
}

describe("step-up attacks with the real identity provider", () => {
  let idp: TestIdp;
  const bot = stepUpBot(() => idp.issuer);

  before(async () => {
    idp = await startTestIdp();
    await bot.start();
  });
  after(async () => {
    await bot.stop();
    await idp?.stop();
  });
  beforeEach(() => bot.fake().clear());

  test("session theft: the Slack session's holder signing in as themselves is refused; the link's owner is who must sign in", async () => {
    const id = await bot.ask("UPDATE orders SET status = 'x' WHERE id = 1");
    // Someone holding Bob's Slack session clicks Approve, and opens the link signed in as Carol.
    const link = linkIn(await bot.click(U.bob, id));
    const seq = await bot.head();
    idp.signInNext("sub-carol");
    const page = await new StepUpBrowser().page(link);
    assert.equal(page.status, 403);
    assert.match(page.text, /signed in as someone else/);
    assert.deepEqual(await bot.refusedWhy(seq), ["other_subject"]);
    await bot.nothingApproved(id);
    // The refusal spent the link: the thief cannot try again with it.
    assert.equal((await new StepUpBrowser().page(link)).status, 403);
  });

  test("a forwarded link first shows what it approves and warns, starting nothing; the sign-in starts from its page", async () => {
    const id = await bot.ask("UPDATE orders SET note = '<script>alert(1)</script>' WHERE id = 16");
    // Someone holding Bob's Slack session clicks Approve and sends Bob the link.
    const link = linkIn(await bot.click(U.bob, id));
    const seq = await bot.head();
    const bob = new StepUpBrowser(true);
    const shown = await bob.page(link);
    assert.equal(shown.status, 200);
    assert.match(shown.text, new RegExp(`Approve request #${id}\\?`));
    assert.match(shown.text, /shop \(production\)/);
    assert.match(
      shown.text,
      /SET note = &#39;&lt;script&gt;alert\(1\)&lt;\/script&gt;&#39;/,
      "the SQL, escaped",
    );
    assert.ok(!shown.text.includes("<script"));
    assert.match(shown.text, /If you did not, someone else is using your Slack account/);
    assert.deepEqual(await bot.after(seq), [], "showing the page records nothing");
    const row = await bot
      .h()
      .bot.store.selectFrom("step_up_challenges")
      .select(["status", "state_hash"])
      .where("request_id", "=", id)
      .executeTakeFirstOrThrow();
    assert.deepEqual(row, { status: "issued", state_hash: null }, "no sign-in started");
    await bot.nothingApproved(id);
    // Bob reads it and signs in (his choice, now an informed one): his approval counts.
    idp.signInNext("sub-bob");
    const done = await new StepUpBrowser().page(link);
    assert.equal(done.status, 200, done.text);
    assert.match(done.text, /Approved with fresh sign-in/);
  });

  test("the sign-in address forwarded without its page is refused: it starts only where the page was shown", async () => {
    const id = await bot.ask("UPDATE orders SET status = 'x' WHERE id = 17");
    const link = linkIn(await bot.click(U.bob, id));
    // The thief opens the page in their own browser, and sends Bob the Sign in address behind it.
    const thief = new StepUpBrowser(true);
    const shown = await thief.page(link);
    const href = /<a id="sign-in" href="([^"]+)"/.exec(shown.text)?.[1];
    assert.ok(href !== undefined);
    const signIn = new URL(href, link).href;
    const seq = await bot.head();
    const bob = await new StepUpBrowser().open(signIn, (u) => u.origin !== new URL(link).origin);
    assert.ok(!("stoppedAt" in bob), "Bob's browser is not sent to the provider");
    assert.equal(bob.status, 403);
    assert.match(bob.text, /Open the link from Slack first/);
    assert.deepEqual(await bot.refusedWhy(seq), ["not_confirmed"]);
    await bot.nothingApproved(id);
    // Bob opening the link itself still works: the refusal ended nothing.
    idp.signInNext("sub-bob");
    assert.equal((await new StepUpBrowser().page(link)).status, 200);
  });

  test("the pages are not cached, framed or referred, and the cookie is HttpOnly, SameSite=Lax, scoped to /step-up", async () => {
    const id = await bot.ask("UPDATE orders SET status = 'x' WHERE id = 2");
    const link = linkIn(await bot.click(U.bob, id));
    const shown = await fetch(link, { redirect: "manual" });
    assert.equal(shown.status, 200);
    const viewed = cookieOf(shown, "dbward_step_up_viewed");
    const opened = await fetch(`${link}/sign-in`, { redirect: "manual", headers: { cookie: viewed } });
    assert.equal(opened.status, 303);
    const refused = await fetch(`${bot.h().url}/step-up/callback?state=nope`, { redirect: "manual" });
    for (const res of [shown, opened, refused]) {
      assert.equal(res.headers.get("cache-control"), "no-store");
      assert.equal(res.headers.get("referrer-policy"), "no-referrer");
      assert.equal(res.headers.get("x-frame-options"), "DENY");
      assert.match(res.headers.get("content-security-policy") ?? "", /frame-ancestors 'none'/);
      assert.match(res.headers.get("content-security-policy") ?? "", /default-src 'none'/);
    }
    for (const [res, name] of [
      [shown, "dbward_step_up_viewed"],
      [opened, "dbward_step_up"],
    ] as const) {
      const cookie = res.headers.getSetCookie().find((c) => c.startsWith(`${name}=`));
      assert.ok(cookie !== undefined, name);
      assert.match(cookie, /HttpOnly/);
      assert.match(cookie, /SameSite=Lax/);
      assert.match(cookie, /Path=\/step-up/);
    }
    // The redirect goes to the provider, and nowhere a parameter names.
    assert.equal(new URL(opened.headers.get("location") ?? "").origin, new URL(idp.issuer).origin);
  });

  test("the link's secret reaches only the private answer: not the log, the audit chain, the channel or the state store", async () => {
    const logStart = bot.logs.length;
    const id = await bot.ask("UPDATE orders SET status = 'x' WHERE id = 3");
    const seq = await bot.head();
    const link = linkIn(await bot.click(U.bob, id));
    const secret = link.split("/").at(-1) ?? "";
    assert.equal(secret.length, 43);
    idp.signInNext("sub-bob");
    const browser = new StepUpBrowser();
    const back = await stopAtCallback(browser, link);
    const state = back.searchParams.get("state") ?? "";
    const code = back.searchParams.get("code") ?? "";
    assert.equal((await browser.page(back.href)).status, 200);
    await bot.h().bot.slack?.idle();
    // Failing requests are logged too (the 403 of a second opening).
    assert.equal((await new StepUpBrowser().page(link)).status, 403);

    const logged = bot.logs.slice(logStart).join("");
    assert.match(logged, /\/step-up\/:secret/, "the access log has the link's route");
    for (const s of [secret, state, code]) {
      assert.ok(!logged.includes(s), "no secret of the sign-in in the log");
      assert.ok(!JSON.stringify(await bot.after(seq)).includes(s), "nor in the audit chain");
      const tables = ["step_up_challenges", "slack_outbox"] as const;
      for (const t of tables) {
        const rows = await bot.h().bot.store.selectFrom(t).selectAll().execute();
        assert.ok(!JSON.stringify(rows).includes(s), `nor in ${t}`);
      }
    }
    const publicCalls = bot
      .fake()
      .calls.filter((c) => c.method !== "response_url" && c.method !== "chat.postEphemeral");
    assert.ok(!JSON.stringify(publicCalls).includes(secret), "no Slack post but the private answer has it");
  });

  test("the callback reflects nothing: script in state, error and error_description is escaped or dropped, and no redirect leaves", async () => {
    const evil = "<script>alert(1)</script>\"'><img src=x onerror=alert(1)>";
    const q = new URLSearchParams({
      state: evil,
      error: evil,
      error_description: evil,
      redirect_uri: "https://evil.example/",
    });
    const res = await fetch(`${bot.h().url}/step-up/callback?${q.toString()}`, { redirect: "manual" });
    assert.equal(res.status, 403);
    assert.equal(res.headers.get("location"), null);
    assert.match(res.headers.get("content-type") ?? "", /text\/html/);
    const text = await res.text();
    assert.ok(!text.includes("<script") && !text.includes("<img"), text);

    // The provider's own error answer on a real sign-in: refused, its text not on the page.
    const id = await bot.ask("UPDATE orders SET status = 'x' WHERE id = 4");
    const browser = new StepUpBrowser();
    idp.signInNext("sub-bob");
    const back = await stopAtCallback(browser, linkIn(await bot.click(U.bob, id)));
    const errored = new URL(back);
    errored.searchParams.delete("code");
    errored.searchParams.set("error", "access_denied");
    errored.searchParams.set("error_description", evil);
    const page = await browser.page(errored.href);
    assert.equal(page.status, 403);
    assert.ok(!page.text.includes("<script") && !page.text.includes("<img"));
    await bot.nothingApproved(id);
  });

  test("CSRF: the callback and the link take no POST, and a cross-site POST changes nothing", async () => {
    const id = await bot.ask("UPDATE orders SET status = 'x' WHERE id = 5");
    const link = linkIn(await bot.click(U.bob, id));
    const browser = new StepUpBrowser();
    idp.signInNext("sub-bob");
    const back = await stopAtCallback(browser, link);
    for (const url of [back.href, link]) {
      const res = await fetch(url, {
        method: "POST",
        headers: { origin: "https://evil.example", "content-type": "application/x-www-form-urlencoded" },
        body: back.search.slice(1),
      });
      assert.equal(res.status, 404, url);
    }
    // The real browser still finishes: the POSTs took nothing.
    assert.equal((await browser.page(back.href)).status, 200);
  });

  test("a link bound to approval step 1 does not approve step 2 after someone else approved step 1", async () => {
    const id = await bot.ask("UPDATE orders SET status = 'x' WHERE id = 6", "qa");
    const link = linkIn(await bot.click(U.bob, id));
    // Carol approves step 1 meanwhile with a fresh dbward login.
    const now = Math.floor(Date.now() / 1000);
    const fresh = await idp.mint({ sub: "sub-carol", aud: IDP_CLIENT_ID, auth_time: now - 5 });
    assert.equal((await bot.h().call(fresh, "POST", `/api/requests/${id}/approve`, {})).status, 200);
    idp.signInNext("sub-bob");
    const page = await new StepUpBrowser().page(link);
    assert.equal(page.status, 409, page.text);
    assert.match(page.text, /approval was refused/);
    assert.deepEqual(
      (await bot.view(id)).approvals.map((a) => a.approver),
      ["carol"],
      "Bob's sign-in for step 1 did not become his approval of step 2",
    );
    const left = await bot
      .h()
      .bot.store.selectFrom("step_up_challenges")
      .select("status")
      .where("request_id", "=", id)
      .where("user_id", "=", "bob")
      .execute();
    assert.deepEqual(left, [{ status: "refused" }], "the verified sign-in does not outlive its refusal");
  });

  test("a link used after the request was cancelled, rejected or already approved approves nothing", async () => {
    const cancelled = await bot.ask("UPDATE orders SET status = 'x' WHERE id = 7");
    const rejected = await bot.ask("UPDATE orders SET status = 'x' WHERE id = 8");
    const approved = await bot.ask("UPDATE orders SET status = 'x' WHERE id = 9");
    const links = {
      cancelled: linkIn(await bot.click(U.bob, cancelled)),
      rejected: linkIn(await bot.click(U.bob, rejected)),
      approved: linkIn(await bot.click(U.bob, approved)),
    };
    const cancel = await bot
      .h()
      .call(await bot.h().tokenFor("alice"), "POST", `/api/requests/${cancelled}/cancel`, {
        reason: "not needed",
      });
    assert.equal(cancel.status, 200, JSON.stringify(cancel.body));
    const reject = await bot
      .h()
      .call(await bot.h().tokenFor("carol"), "POST", `/api/requests/${rejected}/reject`, {
        reason: "no",
      });
    assert.equal(reject.status, 200);
    const now = Math.floor(Date.now() / 1000);
    const carol = await idp.mint({ sub: "sub-carol", aud: IDP_CLIENT_ID, auth_time: now - 5 });
    assert.equal((await bot.h().call(carol, "POST", `/api/requests/${approved}/approve`, {})).status, 200);
    for (const [what, link] of Object.entries(links)) {
      idp.signInNext("sub-bob");
      const page = await new StepUpBrowser().page(link);
      assert.equal(page.status, 409, `${what}: ${page.text}`);
    }
    await bot.nothingApproved(cancelled);
    await bot.nothingApproved(rejected);
    assert.equal((await bot.view(rejected)).status, "rejected");
    assert.deepEqual(
      (await bot.view(approved)).approvals.map((a) => a.approver),
      ["carol"],
    );
  });

  test("a user suspended between the click and the callback is refused", async () => {
    const id = await bot.ask("UPDATE orders SET status = 'x' WHERE id = 10");
    const link = linkIn(await bot.click(U.bob, id));
    const browser = new StepUpBrowser();
    idp.signInNext("sub-bob");
    const back = await stopAtCallback(browser, link);
    const admin = bot.h().adminToken;
    assert.equal((await bot.h().call(admin, "POST", "/api/users/bob/suspend", { reason: "t" })).status, 200);
    try {
      const seq = await bot.head();
      const page = await browser.page(back.href);
      assert.equal(page.status, 403);
      assert.deepEqual(await bot.refusedWhy(seq), ["user_not_active"]);
      await bot.nothingApproved(id);
      // Suspended before opening a link: the page shows nothing of the request.
      const other = await bot.ask("UPDATE orders SET status = 'x' WHERE id = 18");
      await bot.h().call(admin, "POST", "/api/users/bob/activate", { reason: "t" });
      const link2 = linkIn(await bot.click(U.bob, other));
      await bot.h().call(admin, "POST", "/api/users/bob/suspend", { reason: "t" });
      const seq2 = await bot.head();
      const shown = await new StepUpBrowser(true).page(link2);
      assert.equal(shown.status, 403);
      assert.doesNotMatch(shown.text, /UPDATE orders/);
      assert.deepEqual(await bot.refusedWhy(seq2), ["user_not_active"]);
    } finally {
      await bot.h().call(admin, "POST", "/api/users/bob/activate", { reason: "t" });
    }
  });

  test("a subject relinked between the click and the callback is refused, both the old and the new", async () => {
    const admin = bot.h().adminToken;
    const link1 = async (sub: string): Promise<void> => {
      const r = await bot
        .h()
        .call(admin, "PATCH", "/api/users/erin", { oidc_subject: `${idp.issuer}#${sub}` });
      assert.equal(r.status, 200, JSON.stringify(r.body));
    };
    await link1("sub-erin");
    const id = await bot.ask("UPDATE orders SET status = 'x' WHERE id = 11");
    const first = linkIn(await bot.click(U.erin, id));
    await link1("sub-erin-2");
    const seq = await bot.head();
    idp.signInNext("sub-erin");
    assert.equal((await new StepUpBrowser().page(first)).status, 403, "the old subject no longer is Erin");
    const second = linkIn(await bot.click(U.erin, id));
    await link1("sub-erin");
    idp.signInNext("sub-erin-2");
    assert.equal(
      (await new StepUpBrowser().page(second)).status,
      403,
      "the new subject was not Erin's at the click",
    );
    assert.deepEqual(await bot.refusedWhy(seq), ["other_subject", "other_subject"]);
    await bot.nothingApproved(id);
  });

  test("flooding Approve keeps one open challenge per approver and request, and older links die", async () => {
    const id = await bot.ask("UPDATE orders SET status = 'x' WHERE id = 12");
    const links: string[] = [];
    for (let i = 0; i < 15; i++) links.push(linkIn(await bot.click(U.bob, id)));
    const rows = await bot
      .h()
      .bot.store.selectFrom("step_up_challenges")
      .select(["id", "status"])
      .where("request_id", "=", id)
      .where("user_id", "=", "bob")
      .execute();
    assert.equal(rows.length, 1, "one row however often the button is clicked");
    const seq = await bot.head();
    const older = await new StepUpBrowser().page(links[0] ?? "");
    assert.equal(older.status, 404, "an older link is dead");
    assert.deepEqual(await bot.refusedWhy(seq), ["unknown_link"]);
    idp.signInNext("sub-bob");
    const latest = await new StepUpBrowser().page(links.at(-1) ?? "");
    assert.equal(latest.status, 200, latest.text);
    assert.deepEqual(
      (await bot.view(id)).approvals.map((a) => a.approver),
      ["bob"],
    );
  });

  test("the same provider answer (code) replayed, or a code moved to another sign-in, is refused", async () => {
    const id = await bot.ask("UPDATE orders SET status = 'x' WHERE id = 13");
    const browser = new StepUpBrowser();
    idp.signInNext("sub-bob");
    const back = await stopAtCallback(browser, linkIn(await bot.click(U.bob, id)));
    // Carol's own sign-in for the same request, whose code Bob's thief takes to Bob's state.
    const carol = new StepUpBrowser();
    idp.signInNext("sub-carol");
    const carolBack = await stopAtCallback(carol, linkIn(await bot.click(U.carol, id)));
    const swapped = new URL(back);
    swapped.searchParams.set("code", carolBack.searchParams.get("code") ?? "");
    const seq = await bot.head();
    assert.equal((await browser.page(swapped.href)).status, 403);
    assert.deepEqual(
      await bot.refusedWhy(seq),
      ["provider_refused"],
      "the code is bound to Carol's PKCE and nonce",
    );
    // Bob's own code, replayed after the refusal ended the sign-in: taken already.
    assert.equal((await browser.page(back.href)).status, 403);
    // Carol finishes hers once; the replay of it is refused.
    assert.equal((await carol.page(carolBack.href)).status, 200);
    const replay = (await carol.page(carolBack.href)) as Page;
    assert.equal(replay.status, 403);
    assert.match(replay.text, /already used|not started here/);
    assert.deepEqual(
      (await bot.view(id)).approvals.map((a) => a.approver),
      ["carol"],
    );
  });

  test("malformed links and callbacks: long, unicode, huge state are refused without a lookup or a crash", async () => {
    const base = bot.h().url;
    const cases: [string, number][] = [
      [`${base}/step-up/${"A".repeat(5000)}`, 404],
      [`${base}/step-up/${encodeURIComponent("Ａ".repeat(43))}`, 404],
      [`${base}/step-up/${"A".repeat(42)}%00`, 404],
      [`${base}/step-up/callback?state=${encodeURIComponent("é".repeat(2000))}`, 403],
      [`${base}/step-up/callback?state=a&state=b`, 403],
      [`${base}/step-up/callback?state[x]=1`, 403],
      [`${base}/step-up/callback`, 403],
    ];
    for (const [url, status] of cases) {
      const res = await fetch(url, { redirect: "manual" });
      assert.equal(res.status, status, url.slice(0, 80));
      await res.body?.cancel();
    }
    // A query past Node's header limit is cut off before any route runs.
    const huge = await fetch(`${base}/step-up/callback?state=${"x".repeat(70_000)}`);
    assert.equal(huge.status, 431);
    assert.equal((await fetch(`${base}/health`)).status, 200, "the bot is still up");
  });

  test("API: a fresh bearer for another audience, or an API token made with a fresh login, approves nothing", async () => {
    const id = await bot.ask("UPDATE orders SET status = 'x' WHERE id = 14");
    const now = Math.floor(Date.now() / 1000);
    const otherAud = await idp.mint({ sub: "sub-bob", aud: IDP_STEP_UP_CLIENT_ID, auth_time: now - 5 });
    assert.equal((await bot.h().call(otherAud, "POST", `/api/requests/${id}/approve`, {})).status, 401);
    // A token without auth_time (as an access token would be) proves no sign-in.
    const noAuthTime = await idp.mint({ sub: "sub-bob", aud: IDP_CLIENT_ID });
    const byNoAuthTime = await bot.h().call(noAuthTime, "POST", `/api/requests/${id}/approve`, {});
    assert.equal(byNoAuthTime.status, 403);
    assert.equal(errorOf(byNoAuthTime).code, "approval.step_up_required");
    // auth_time in the future is no fresh sign-in either.
    const future = await idp.mint({ sub: "sub-bob", aud: IDP_CLIENT_ID, auth_time: now + 600 });
    const byFuture = await bot.h().call(future, "POST", `/api/requests/${id}/approve`, {});
    assert.equal(byFuture.status, 403);
    // Bob signs in freshly and mints an API token with that session: the token is no sign-in.
    const fresh = await idp.mint({ sub: "sub-bob", aud: IDP_CLIENT_ID, auth_time: now - 5 });
    const minted = await bot.h().call(fresh, "POST", "/api/tokens", { name: "step-up-laundering" });
    assert.equal(minted.status, 201, JSON.stringify(minted.body));
    const apiToken = (minted.body as { token: string }).token;
    const byMinted = await bot.h().call(apiToken, "POST", `/api/requests/${id}/approve`, {});
    assert.equal(byMinted.status, 403);
    assert.equal(errorOf(byMinted).code, "approval.step_up_required");
    await bot.nothingApproved(id);
  });

  test("dropping step_up from the config fails closed for requests made under it", async () => {
    const id = await bot.ask("UPDATE orders SET status = 'x' WHERE id = 15");
    const link = linkIn(await bot.click(U.bob, id));
    await bot.reload(config(idp.issuer, bot.h().url, false));
    try {
      assert.equal((await bot.view(id)).workflow.step_up, "oidc", "frozen into the request");
      idp.signInNext("sub-bob");
      const page = await new StepUpBrowser().page(link);
      assert.equal(page.status, 403);
      assert.match(page.text, /not configured/);
      const answer = await bot.click(U.bob, id);
      assert.match(answer, /needs a fresh sign-in|no step_up/);
      await bot.nothingApproved(id);
    } finally {
      await bot.reload(config(idp.issuer, bot.h().url));
    }
  });
});

describe("step-up attacks by a lying identity provider", () => {
  let idp: HostileIdp;
  let sub = "sub-bob";
  const bot = stepUpBot(() => idp.issuer);

  before(async () => {
    idp = await startHostileIdp(() => sub);
    await bot.start();
  });
  after(async () => {
    await bot.stop();
    await idp?.stop();
  });
  beforeEach(() => {
    sub = "sub-bob";
  });

  async function attempt(): Promise<{ id: number; page: Page; refused: unknown[] }> {
    const id = await bot.ask("UPDATE orders SET status = 'x' WHERE id = 1");
    const link = linkIn(await bot.click(U.bob, id));
    const seq = await bot.head();
    const page = await new StepUpBrowser().page(link);
    return { id, page, refused: await bot.refusedWhy(seq) };
  }

  test("an honest answer approves (so each refusal below is the bot's check)", async () => {
    const { id, page } = await attempt();
    assert.equal(page.status, 200, page.text);
    const a = idp.authorizations.at(-1);
    assert.equal(a?.prompt, "login");
    assert.equal(a?.maxAge, "300");
    assert.equal(a?.codeChallengeMethod, "S256");
    assert.equal(a?.clientId, IDP_STEP_UP_CLIENT_ID);
    assert.deepEqual(
      (await bot.view(id)).approvals.map((x) => x.approver),
      ["bob"],
    );
  });

  const lies: [string, (c: Record<string, unknown>) => Record<string, unknown>, string][] = [
    ["an ID token for another client (aud)", (c) => ({ ...c, aud: IDP_CLIENT_ID }), "provider_refused"],
    ["an ID token from another issuer", (c) => ({ ...c, iss: "http://127.0.0.1:9" }), "provider_refused"],
    ["an expired ID token", (c) => ({ ...c, exp: Math.floor(Date.now() / 1000) - 600 }), "provider_refused"],
    ["no nonce", ({ nonce: _n, ...c }) => c, "provider_refused"],
    [
      "auth_time in the future",
      (c) => ({ ...c, auth_time: Math.floor(Date.now() / 1000) + 600 }),
      "stale_login",
    ],
    ["no auth_time", ({ auth_time: _a, ...c }) => c, "stale_login"],
    [
      "an old auth_time within max_age (prompt=login ignored: the session from before the click)",
      (c) => ({ ...c, auth_time: Math.floor(Date.now() / 1000) - 120 }),
      "stale_login",
    ],
    [
      "auth_time as a string",
      (c) => ({ ...c, auth_time: String(Math.floor(Date.now() / 1000)) }),
      "provider_refused",
    ],
  ];
  for (const [what, lie, why] of lies)
    test(`refuses ${what}`, async () => {
      idp.nextIdToken((c) => lie(c as Record<string, unknown>));
      const { id, page, refused } = await attempt();
      assert.equal(page.status, 403, page.text);
      assert.deepEqual(refused, [why]);
      await bot.nothingApproved(id);
    });

  test("refuses a sign-in made after the click but before this sign-in started (a session the provider kept)", async () => {
    const id = await bot.ask("UPDATE orders SET status = 'x' WHERE id = 3");
    const link = linkIn(await bot.click(U.bob, id));
    const clickedAt = Math.floor(Date.now() / 1000);
    // The approver opens the link 90 s after the click; the provider, ignoring prompt=login,
    // reports the session it made 40 s after the click: fresh, after the click, and not this sign-in.
    bot.setOffset(90_000);
    try {
      idp.nextIdToken((c) => ({ ...c, auth_time: clickedAt + 40 }));
      const seq = await bot.head();
      const page = await new StepUpBrowser().page(link);
      assert.equal(page.status, 403, page.text);
      assert.deepEqual(await bot.refusedWhy(seq), ["stale_login"]);
      const refused = (await bot.after(seq)).find((e) => e.action === "step_up.refused");
      assert.match(String(refused?.details.detail), /before the sign-in was started/);
      await bot.nothingApproved(id);
    } finally {
      bot.setOffset(0);
    }
  });

  test("refuses a nonce taken from another sign-in", async () => {
    const id = await bot.ask("UPDATE orders SET status = 'x' WHERE id = 2");
    // Carol's sign-in runs first; its nonce is the one the provider puts in Bob's token.
    sub = "sub-carol";
    const carolBack = await stopAtCallback(new StepUpBrowser(), linkIn(await bot.click(U.carol, id)));
    assert.ok(carolBack.searchParams.get("code"));
    const carolNonce = idp.authorizations.at(-1)?.nonce ?? "";
    sub = "sub-bob";
    idp.nextIdToken((c) => ({ ...c, nonce: carolNonce }));
    const seq = await bot.head();
    const page = await new StepUpBrowser().page(linkIn(await bot.click(U.bob, id)));
    assert.equal(page.status, 403);
    assert.deepEqual(await bot.refusedWhy(seq), ["provider_refused"]);
    await bot.nothingApproved(id);
  });

  test("refuses an answer whose subject is another user's, and a subject of another issuer's form", async () => {
    sub = "sub-carol";
    const first = await attempt();
    assert.deepEqual(first.refused, ["other_subject"]);
    sub = "sub-bob#x";
    const second = await attempt();
    assert.deepEqual(second.refused, ["other_subject"]);
    await bot.nothingApproved(first.id);
    await bot.nothingApproved(second.id);
  });
});

describe("step-up across two bot instances on one PostgreSQL state", () => {
  let idp: TestIdp;
  let fake: FakeSlack;
  let shared: SharedState;
  let a: BotHarness;
  let b: BotHarness;

  before(async () => {
    idp = await startTestIdp();
    fake = await FakeSlack.start();
    shared = await sharedPostgresState(config(idp.issuer, "http://127.0.0.1:9"));
    a = await shared.start({ slackEnv: fake.env() });
    b = await shared.start({ slackEnv: fake.env() });
    // Behind one load balancer both answer at one public URL: here, instance A's.
    for (const h of [a, b]) {
      await h.bot.reload({ ...parseBotConfig(config(idp.issuer, a.url)), state: h.bot.ctx.config().state });
    }
  });
  after(async () => {
    await shared?.stop();
    await fake?.close();
    await idp?.stop();
  });

  test("a link made on one instance is opened on the other, and two callbacks at once approve once", async () => {
    const slackA = new SlackRequests(`${a.url}/slack/events`, fake);
    await slackA.command(
      U.alice,
      `query shop production "fix it" UPDATE orders SET status = 'x' WHERE id = 1`,
    );
    await a.bot.slack?.idle();
    const id = Number(/Request #(\d+) created/.exec(textOf(fake.of("response_url").at(-1)))?.[1]);
    assert.ok(id > 0);
    fake.clear();
    await slackA.click(U.bob, SLACK_IDS.actions.approve, String(id), CHANNEL);
    await a.bot.slack?.idle();
    await fake.waitFor("the private answer", (calls) => calls.some((c) => c.method === "response_url"));
    const link = new URL(linkIn(textOf(fake.of("response_url")[0])));
    // Opened on B, which never saw the click.
    const shown = await fetch(`${b.url}${link.pathname}`);
    assert.equal(shown.status, 200);
    const opened = await fetch(`${b.url}${link.pathname}/sign-in`, {
      redirect: "manual",
      headers: { cookie: cookieOf(shown, "dbward_step_up_viewed") },
    });
    assert.equal(opened.status, 303);
    const cookie = cookieOf(opened, "dbward_step_up");
    idp.signInNext("sub-bob");
    const back = await stopAtCallback(new StepUpBrowser(), opened.headers.get("location") ?? "");
    // The same answer at both instances at once: one takes it.
    const pages = await Promise.all(
      [a, b].map(async (h) => {
        const res = await fetch(`${h.url}${back.pathname}${back.search}`, { headers: { cookie } });
        return { status: res.status, text: await res.text() };
      }),
    );
    assert.deepEqual(pages.map((p) => p.status).sort(), [200, 403], pages.map((p) => p.text).join("\n"));
    const r = (await a.call(a.adminToken, "GET", `/api/requests/${id}`)).body as RequestView;
    assert.deepEqual(
      r.approvals.map((x) => x.approver),
      ["bob"],
    );
  });
});
