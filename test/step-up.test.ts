/**
 * Step-up approvals end to end (docs/security-hardening.md "Step-up approvals"): a real bot with
 * Slack pointed at the fake Slack, Slack requests signed as Slack signs them, and the real OIDC
 * provider on loopback (test/support/oidc-provider.ts) signing the approver in again. An Approve
 * click records nothing; the approval counts only once the private link's sign-in came back as
 * the linked subject, fresh, in the browser that opened the link, once. Every refusal leaves the
 * request pending with no approval, and is audited.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, beforeEach, describe, test } from "node:test";
import type { AuditEvent, RequestView } from "@dbward/shared";
import { listAudit, parseBotConfig } from "@dbward/bot";
import { SLACK_IDS } from "../bot/src/slack/ids.ts";
import { EXIT } from "../cli/src/exit-codes.ts";
import { main } from "../cli/src/main.ts";
import { captureOutput } from "./support/capture-output.ts";
import { GENEROUS_LIMITS, errorOf } from "./support/audit-reader.ts";
import { startBotHarness, type BotHarness } from "./support/bot-harness.ts";
import { FakeSlack } from "./support/fake-slack.ts";
import { IDP_CLIENT_ID, IDP_STEP_UP_CLIENT_ID, startTestIdp, type TestIdp } from "./support/oidc-provider.ts";
import { StepUpBrowser, type Page } from "./support/step-up-browser.ts";
import { SlackRequests, input } from "./slack/slack-requests.ts";
import { textOf } from "./slack/slack-harness.ts";

/** Waits (bounded) until `dbward login` has printed the user code, and returns it. */
async function userCodeFrom(lines: readonly string[]): Promise<string> {
  for (let i = 0; i < 400; i++) {
    for (const line of lines) {
      const m = /enter the code (\S+)$/.exec(line);
      if (m?.[1] !== undefined) return m[1];
    }
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`the CLI printed no user code:\n${lines.join("\n")}`);
}

const U = { alice: "U0ALICE01", bob: "U0BOB0001", carol: "U0CAROL01", dave: "U0DAVE001" } as const;
const CHANNEL = "C0APPROVALS";

function config(issuer: string, publicUrl: string): string {
  return `
databases:
  - { name: shop, dialect: postgres, environments: [production, staging] }
workflows:
  - name: prod-writes
    database: shop
    environment: production
    operations: [write]
    step_up: oidc
    steps:
      - approvers: ["role:approver"]
  - name: staging-writes
    database: shop
    environment: staging
    operations: [write]
    step_up: { method: oidc, risk_at_least: high }
    steps:
      - approvers: ["role:approver"]
sql_review:
  # A critical write reaches approvers in staging (a warning, not a refusal), to need step-up.
  - { database: shop, environment: staging, rules: { no_where_delete: warn } }
users:
  - { id: alice, name: Alice, slack_user_id: ${U.alice}, roles: [requester] }
  - { id: bob, name: Bob, slack_user_id: ${U.bob}, roles: [approver], oidc_subject: "${issuer}#sub-bob" }
  - { id: carol, name: Carol, slack_user_id: ${U.carol}, roles: [approver], oidc_subject: "${issuer}#sub-carol" }
  - { id: dave, name: Dave, slack_user_id: ${U.dave}, roles: [approver] }
  - { id: root, name: Root, roles: [admin] }
bootstrap_admin: root
oidc:
  issuer: ${issuer}
  client_id: ${IDP_CLIENT_ID}
  # dbward login presents the ID token, which carries auth_time (test/support/oidc-provider.ts).
  bearer: id_token
  audience: ${IDP_CLIENT_ID}
  jwks_cooldown_seconds: 0
step_up:
  public_url: ${publicUrl}
  client_id: ${IDP_STEP_UP_CLIENT_ID}
  max_age: 5m
  link_ttl: 2m
slack:
  approvals_channel: ${CHANNEL}
${GENEROUS_LIMITS}`;
}

describe("step-up approvals", () => {
  let idp: TestIdp;
  let fake: FakeSlack;
  let h: BotHarness;
  let slack: SlackRequests;
  let offsetMs = 0;

  before(async () => {
    idp = await startTestIdp();
    fake = await FakeSlack.start();
    // The bot's port is known once it listens: the config it starts with points nowhere, and a
    // reload (as an operator would do) sets the public URL the provider sends browsers back to.
    h = await startBotHarness(config(idp.issuer, "http://127.0.0.1:9"), {
      slack: { env: fake.env(), options: { retry: { attempts: 4, baseDelayMs: 5, maxDelayMs: 50 } } },
      clock: { now: () => new Date(Date.now() + offsetMs) },
    });
    await h.bot.reload({ ...parseBotConfig(config(idp.issuer, h.url)), state: h.bot.ctx.config().state });
    slack = new SlackRequests(`${h.url}/slack/events`, fake);
  });
  after(async () => {
    await h?.stop();
    await fake?.close();
    await idp?.stop();
  });
  beforeEach(() => {
    fake.clear();
    offsetMs = 0;
  });

  const settle = async (): Promise<void> => {
    await h.bot.slack?.idle();
  };

  async function ask(sql: string, environment = "production", stepUp = true): Promise<number> {
    await slack.command(U.alice, `query shop ${environment} "fix it" ${sql}`);
    await settle();
    const id = /Request #(\d+) created/.exec(textOf(fake.of("response_url").at(-1)))?.[1];
    assert.ok(id !== undefined, "request created");
    const isPost = (c: { method: string; args: Record<string, unknown> }): boolean =>
      c.method === "chat.postMessage" &&
      c.args.channel === CHANNEL &&
      c.args.thread_ts === undefined &&
      textOf(c as never).includes(`Request #${id}`);
    await fake.waitFor(`the approval post of #${id}`, (calls) => calls.some(isPost));
    const post = fake.of("chat.postMessage").find(isPost);
    if (stepUp) assert.match(textOf(post), /needs a fresh sign-in/, "approvers are told before they click");
    else assert.doesNotMatch(textOf(post), /fresh sign-in/);
    fake.clear();
    return Number(id);
  }

  async function view(id: number): Promise<RequestView> {
    return (await h.call(h.adminToken, "GET", `/api/requests/${id}`)).body as RequestView;
  }

  /** Clicks Approve as `slackUser` and answers the private answer's text. */
  async function clickApprove(slackUser: string, id: number): Promise<string> {
    fake.clear();
    const res = await slack.click(slackUser, SLACK_IDS.actions.approve, String(id), CHANNEL);
    assert.equal(res.status, 200);
    await settle();
    const answers = fake.of("response_url");
    assert.equal(answers.length, 1, "one private answer");
    return textOf(answers[0]);
  }

  /** The link in a click's answer. */
  function linkIn(answer: string): string {
    const url = /<(http[^|>]+)\|Sign in again/.exec(answer)?.[1];
    assert.ok(url !== undefined, `a sign-in link in: ${answer}`);
    return url;
  }

  const audit = (): Promise<AuditEvent[]> => listAudit(h.bot.store);
  const after_ = async (seq: number): Promise<AuditEvent[]> => (await audit()).filter((e) => e.seq > seq);
  const head = async (): Promise<number> => (await audit()).at(-1)?.seq ?? 0;

  function refusedWhy(events: readonly AuditEvent[]): unknown[] {
    return events.filter((e) => e.action === "step_up.refused").map((e) => e.details.why);
  }

  async function assertNothingApproved(id: number): Promise<void> {
    const r = await view(id);
    assert.equal(r.status, "pending_approval");
    assert.deepEqual(r.approvals, []);
  }

  const isCallback = (u: URL): boolean => u.pathname === "/step-up/callback";

  test("an Approve click records nothing until the fresh sign-in; then it counts and the thread says so", async () => {
    const id = await ask("UPDATE orders SET status = 'refunded' WHERE id = 7");
    const seq = await head();
    const answer = await clickApprove(U.bob, id);
    assert.match(answer, /needs a fresh sign-in/);
    await assertNothingApproved(id);
    assert.equal((await view(id)).workflow.step_up, "oidc");
    assert.deepEqual(
      (await after_(seq)).map((e) => e.action),
      ["step_up.challenge_issued"],
      "the click itself approves nothing",
    );

    const browser = new StepUpBrowser();
    idp.signInNext("sub-bob");
    const done = await browser.page(linkIn(answer));
    assert.equal(done.status, 200, done.text);
    assert.match(done.text, /Approved with fresh sign-in/);
    const r = await view(id);
    assert.notEqual(r.status, "pending_approval");
    assert.deepEqual(
      r.approvals.map((a) => [a.approver, a.decision]),
      [["bob", "approved"]],
    );
    await settle();
    const thread = fake
      .of("chat.postMessage")
      .filter((c) => c.args.channel === CHANNEL && c.args.thread_ts !== undefined)
      .map(textOf);
    assert.ok(
      thread.some((t) => t.includes("approved with fresh sign-in")),
      `thread says so: ${thread.join(" | ")}`,
    );
    const events = await after_(seq);
    assert.deepEqual(
      events.map((e) => e.action).filter((a) => a.startsWith("step_up.") || a.startsWith("request.appro")),
      ["step_up.challenge_issued", "step_up.verified", "request.approval_recorded", "request.approved"],
    );
    const recorded = events.find((e) => e.action === "request.approval_recorded");
    assert.equal((recorded?.details.step_up as { via?: string } | undefined)?.via, "link");

    // The link is single-use: opened again, it is refused and nothing more happens.
    const seq2 = await head();
    const again = await browser.page(linkIn(answer));
    assert.equal(again.status, 403);
    assert.match(again.text, /already used/);
    assert.deepEqual(refusedWhy(await after_(seq2)), ["already_used"]);
    assert.equal((await view(id)).approvals.length, 1);
  });

  test("Approve in the Review modal waits for the sign-in too, and keeps the approver's comment", async () => {
    const id = await ask("UPDATE orders SET status = 'refunded' WHERE id = 17");
    const ids = SLACK_IDS.inputs;
    const res = await slack.submitView(
      U.bob,
      SLACK_IDS.views.review,
      {
        [ids.decision.block]: { [ids.decision.action]: input.radio(SLACK_IDS.decisions.approve) },
        [ids.comment.block]: { [ids.comment.action]: input.text("checked the plan") },
      },
      JSON.stringify({ requestId: id, channel: CHANNEL }),
    );
    assert.equal(res.text, "", "the modal closes");
    await settle();
    const answer = textOf(fake.of("chat.postEphemeral").find((c) => c.args.user === U.bob));
    await assertNothingApproved(id);
    idp.signInNext("sub-bob");
    const page = await new StepUpBrowser().page(linkIn(answer));
    assert.equal(page.status, 200, page.text);
    assert.deepEqual(
      (await view(id)).approvals.map((a) => [a.approver, a.comment]),
      [["bob", "checked the plan"]],
    );
  });

  test("a sign-in as another subject is refused and approves nothing", async () => {
    const id = await ask("UPDATE orders SET status = 'refunded' WHERE id = 8");
    const link = linkIn(await clickApprove(U.bob, id));
    const seq = await head();
    idp.signInNext("sub-carol");
    const page = await new StepUpBrowser().page(link);
    assert.equal(page.status, 403);
    assert.match(page.text, /signed in as someone else/);
    await assertNothingApproved(id);
    assert.deepEqual(refusedWhy(await after_(seq)), ["other_subject"]);
  });

  test("a sign-in older than max_age is refused", async () => {
    const id = await ask("UPDATE orders SET status = 'refunded' WHERE id = 9");
    const link = linkIn(await clickApprove(U.bob, id));
    const seq = await head();
    // The provider reports a sign-in made ten minutes ago (max_age is five).
    idp.signInNext("sub-bob", { authAgeSeconds: 600 });
    const page = await new StepUpBrowser().page(link);
    assert.equal(page.status, 403);
    assert.match(page.text, /not fresh/);
    await assertNothingApproved(id);
    assert.deepEqual(refusedWhy(await after_(seq)), ["stale_login"]);
  });

  test("an expired link is refused", async () => {
    const id = await ask("UPDATE orders SET status = 'refunded' WHERE id = 10");
    const link = linkIn(await clickApprove(U.bob, id));
    const seq = await head();
    offsetMs = 3 * 60_000; // past link_ttl (2m)
    idp.signInNext("sub-bob");
    const page = await new StepUpBrowser().page(link);
    assert.equal(page.status, 403);
    assert.match(page.text, /expired/);
    offsetMs = 0;
    await assertNothingApproved(id);
    assert.deepEqual(refusedWhy(await after_(seq)), ["expired"]);
    // Still refused afterwards: an expired link is spent.
    assert.equal((await new StepUpBrowser().page(link)).status, 403);
  });

  test("a callback whose state no sign-in started is refused, and the real one still must come from the same browser", async () => {
    const id = await ask("UPDATE orders SET status = 'refunded' WHERE id = 11");
    const link = linkIn(await clickApprove(U.bob, id));
    const browser = new StepUpBrowser();
    idp.signInNext("sub-bob");
    const stopped = await browser.open(link, isCallback);
    assert.ok("stoppedAt" in stopped, "the provider sent the browser back with a code");
    const callback = stopped.stoppedAt;
    const seq = await head();

    const forged = new URL(callback);
    forged.searchParams.set("state", "forged-state-nobody-started");
    const forgedPage = (await browser.page(forged.href)) as Page;
    assert.equal(forgedPage.status, 403);
    assert.match(forgedPage.text, /not started here/);

    // The real callback, in a browser that never opened the link (a phished authorization URL).
    const elsewhere = await new StepUpBrowser().page(callback.href);
    assert.equal(elsewhere.status, 403);
    assert.match(elsewhere.text, /another browser/);
    assert.deepEqual(refusedWhy(await after_(seq)), ["state_mismatch", "other_browser"]);
    // Refused once, the sign-in is spent: the right browser cannot finish it either.
    assert.equal((await browser.page(callback.href)).status, 403);
    await assertNothingApproved(id);
  });

  test("a code issued for another PKCE challenge is refused at the exchange", async () => {
    const id = await ask("UPDATE orders SET status = 'refunded' WHERE id = 12");
    const link = linkIn(await clickApprove(U.bob, id));
    const browser = new StepUpBrowser();
    // Stop at the provider, and swap the code challenge for one whose verifier the bot lacks.
    const atProvider = await browser.open(link, (u) => u.origin === new URL(idp.issuer).origin);
    assert.ok("stoppedAt" in atProvider);
    const tampered = new URL(atProvider.stoppedAt);
    assert.equal(tampered.searchParams.get("code_challenge_method"), "S256");
    assert.equal(tampered.searchParams.get("prompt"), "login");
    assert.equal(tampered.searchParams.get("max_age"), "300");
    tampered.searchParams.set("code_challenge", "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM");
    const seq = await head();
    idp.signInNext("sub-bob");
    const page = await browser.page(tampered.href);
    assert.equal(page.status, 403);
    assert.match(page.text, /could not be verified/);
    await assertNothingApproved(id);
    assert.deepEqual(refusedWhy(await after_(seq)), ["provider_refused"]);
  });

  test("two approvers racing for the one approval: one counts, the other is told", async () => {
    const id = await ask("UPDATE orders SET status = 'refunded' WHERE id = 13");
    const bobLink = linkIn(await clickApprove(U.bob, id));
    const carolLink = linkIn(await clickApprove(U.carol, id));
    const bob = new StepUpBrowser();
    const carol = new StepUpBrowser();
    idp.signInNext("sub-bob");
    const bobBack = await bob.open(bobLink, isCallback);
    idp.signInNext("sub-carol");
    const carolBack = await carol.open(carolLink, isCallback);
    assert.ok("stoppedAt" in bobBack && "stoppedAt" in carolBack);
    const pages = await Promise.all([bob.page(bobBack.stoppedAt.href), carol.page(carolBack.stoppedAt.href)]);
    assert.deepEqual(pages.map((p) => p.status).sort(), [200, 409], pages.map((p) => p.text).join("\n"));
    assert.match(pages.find((p) => p.status === 409)?.text ?? "", /approval was refused/);
    const r = await view(id);
    assert.equal(r.approvals.length, 1, "one approval recorded");
    assert.notEqual(r.status, "pending_approval");
  });

  test("an approver with no linked identity is told why and gets no link", async () => {
    const id = await ask("UPDATE orders SET status = 'refunded' WHERE id = 14");
    const seq = await head();
    const answer = await clickApprove(U.dave, id);
    assert.match(answer, /no identity provider account linked/);
    assert.doesNotMatch(answer, /step-up\//);
    await assertNothingApproved(id);
    const denied = (await after_(seq)).filter((e) => e.action === "request.approve_refused");
    assert.equal(denied[0]?.details.code, "approval.step_up_unavailable");
  });

  test("API approval: refused with an API token, an old sign-in or none, accepted with a fresh one", async () => {
    const id = await ask("UPDATE orders SET status = 'refunded' WHERE id = 15");
    const byToken = await h.call(await h.tokenFor("bob"), "POST", `/api/requests/${id}/approve`, {});
    assert.equal(byToken.status, 403);
    assert.equal(errorOf(byToken).code, "approval.step_up_required");
    assert.match(errorOf(byToken).message, /dbward login/);

    const now = Math.floor(Date.now() / 1000);
    const old = await idp.mint({ sub: "sub-bob", aud: IDP_CLIENT_ID, auth_time: now - 600 });
    const byOld = await h.call(old, "POST", `/api/requests/${id}/approve`, {});
    assert.equal(byOld.status, 403);
    assert.equal(errorOf(byOld).code, "approval.step_up_required");
    const noAuthTime = await idp.mint({ sub: "sub-bob", aud: IDP_CLIENT_ID });
    assert.equal((await h.call(noAuthTime, "POST", `/api/requests/${id}/approve`, {})).status, 403);
    await assertNothingApproved(id);

    const fresh = await idp.mint({ sub: "sub-bob", aud: IDP_CLIENT_ID, auth_time: now - 5 });
    const byFresh = await h.call(fresh, "POST", `/api/requests/${id}/approve`, {});
    assert.equal(byFresh.status, 200, JSON.stringify(byFresh.body));
    assert.deepEqual(
      (await view(id)).approvals.map((a) => a.approver),
      ["bob"],
    );
  });

  test("dbward request approve: refused with an API token, done with the session of a fresh dbward login", async () => {
    const id = await ask("UPDATE orders SET status = 'refunded' WHERE id = 18");
    const home = mkdtempSync(join(tmpdir(), "dbward-step-up-cli-"));
    try {
      const env = { XDG_CONFIG_HOME: join(home, "config"), DBWARD_URL: h.url };
      const byToken = captureOutput();
      const refused = await main(
        ["request", "approve", String(id), "--token", await h.tokenFor("bob")],
        { DBWARD_URL: h.url },
        byToken,
      );
      assert.notEqual(refused, EXIT.ok);
      assert.match(byToken.stderr.join("\n"), /fresh sign-in[\s\S]*dbward login/);
      await assertNothingApproved(id);

      const login = captureOutput();
      const running = main(["login"], env, login);
      await idp.approve(await userCodeFrom(login.stdout), "sub-bob");
      assert.equal(await running, EXIT.ok, login.stderr.join("\n"));
      const approved = captureOutput();
      assert.equal(
        await main(["request", "approve", String(id)], env, approved),
        EXIT.ok,
        approved.stderr.join("\n"),
      );
      assert.deepEqual(
        (await view(id)).approvals.map((a) => a.approver),
        ["bob"],
      );
      const recorded = (await audit()).filter(
        (e) => e.action === "request.approval_recorded" && e.target === `request:${id}`,
      );
      assert.equal((recorded[0]?.details.step_up as { via?: string } | undefined)?.via, "bearer");
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
  });

  test("an identity provider that cannot be reached approves nothing and leaves the link usable", async () => {
    const id = await ask("UPDATE orders SET status = 'refunded' WHERE id = 19");
    const link = linkIn(await clickApprove(U.bob, id));
    const state = h.bot.ctx.config().state;
    const down = config(idp.issuer, h.url).replace(`issuer: ${idp.issuer}`, "issuer: http://127.0.0.1:9");
    await h.bot.reload({ ...parseBotConfig(down), state });
    try {
      const seq = await head();
      const page = await new StepUpBrowser().page(link);
      assert.equal(page.status, 503);
      assert.match(page.text, /cannot be reached/);
      assert.deepEqual(refusedWhy(await after_(seq)), ["provider_unreachable"]);
      await assertNothingApproved(id);
    } finally {
      await h.bot.reload({ ...parseBotConfig(config(idp.issuer, h.url)), state });
    }
    idp.signInNext("sub-bob");
    const retried = await new StepUpBrowser().page(link);
    assert.equal(retried.status, 200, retried.text);
    assert.deepEqual(
      (await view(id)).approvals.map((a) => a.approver),
      ["bob"],
    );
  });

  test("guessed links are refused, audited, and count as failed authentications until the address is refused", async () => {
    const state = h.bot.ctx.config().state;
    const strict = config(idp.issuer, h.url).replace(
      "auth_failures: { burst: 100000, per_minute: 1000000 }",
      "auth_failures: { burst: 2, per_minute: 1 }",
    );
    assert.notEqual(strict, config(idp.issuer, h.url));
    await h.bot.reload({ ...parseBotConfig(strict), state });
    try {
      const seq = await head();
      const guessed = await new StepUpBrowser().page(`${h.url}/step-up/${"A".repeat(43)}`);
      assert.equal(guessed.status, 404);
      assert.match(guessed.text, /not valid/);
      const malformed = await new StepUpBrowser().page(`${h.url}/step-up/short`);
      assert.equal(malformed.status, 404);
      assert.deepEqual(refusedWhy(await after_(seq)), ["unknown_link"]);
      // Two failures spent the burst: the next guess is refused before it is looked up.
      const third = await new StepUpBrowser().page(`${h.url}/step-up/${"B".repeat(43)}`);
      assert.equal(third.status, 429);
      assert.deepEqual(refusedWhy(await after_(seq)), ["unknown_link"], "not even looked up");
    } finally {
      await h.bot.reload({ ...parseBotConfig(config(idp.issuer, h.url)), state });
      await h.bot.store.deleteFrom("rate_buckets").execute();
    }
  });

  test("step_up from a risk level: a medium write is approved with a click, a critical one waits for the sign-in", async () => {
    const medium = await ask("UPDATE orders SET status = 'refunded' WHERE id = 20", "staging", false);
    fake.clear();
    await slack.click(U.bob, SLACK_IDS.actions.approve, String(medium), CHANNEL);
    await settle();
    assert.equal(fake.of("response_url").length, 0, "no link, no refusal");
    assert.deepEqual(
      (await view(medium)).approvals.map((a) => a.approver),
      ["bob"],
    );
    assert.equal((await view(medium)).workflow.step_up, undefined);

    const critical = await ask("DELETE FROM orders", "staging");
    assert.equal((await view(critical)).review.risk, "critical");
    const answer = await clickApprove(U.bob, critical);
    await assertNothingApproved(critical);
    idp.signInNext("sub-bob");
    const page = await new StepUpBrowser().page(linkIn(answer));
    assert.equal(page.status, 200, page.text);
    assert.deepEqual(
      (await view(critical)).approvals.map((a) => a.approver),
      ["bob"],
    );
  });

  test("a rejection needs no step-up", async () => {
    const id = await ask("UPDATE orders SET status = 'refunded' WHERE id = 16");
    const res = await h.call(await h.tokenFor("bob"), "POST", `/api/requests/${id}/reject`, {
      reason: "not today",
    });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal((await view(id)).status, "rejected");
  });
});
