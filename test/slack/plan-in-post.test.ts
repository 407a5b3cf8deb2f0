/**
 * The plan in Slack: when an agent reports the EXPLAIN of a request waiting for approval, the
 * channel post and the approvers' DMs are redrawn in place with its summary (no thread reply),
 * the Review modal shows it with where to read the whole plan, and a failure to plan is shown
 * too. The agent is driven over HTTP as an agent talks to the bot; asserted on the fake Slack.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, beforeEach, describe, test } from "node:test";
import type { PollResponse, PreflightClaimResponse } from "@dbward/shared";
import { SLACK_IDS } from "../../bot/src/slack/ids.ts";
import {
  APPROVALS_CHANNEL,
  SLACK_TEST_CONFIG,
  SLACK_USERS,
  startSlackHarness,
  textOf,
  type SlackHarness,
} from "./slack-harness.ts";

const PLAN = JSON.parse(
  readFileSync(join(import.meta.dirname, "../fixtures/plans/postgres-update.json"), "utf8"),
) as unknown;
const CAPS = [{ database: "shop", environment: "production", operations: ["read", "write"] }];

describe("the plan in Slack", () => {
  let s: SlackHarness;
  before(async () => {
    s = await startSlackHarness();
  });
  after(async () => s.stop());
  beforeEach(() => s.fake.clear());

  const agent = () => s.h.agentTokens["agent-1"] ?? "";
  async function claimPlan(requestId: number): Promise<PreflightClaimResponse> {
    const polled = await s.h.call(agent(), "POST", "/api/agent/poll", {
      capabilities: CAPS,
      wait_ms: 0,
      preflights: ["explain"],
    });
    const offer = (polled.body as PollResponse).preflights?.find((p) => p.request_id === requestId);
    assert.ok(offer !== undefined, JSON.stringify(polled.body));
    const res = await s.h.call(agent(), "POST", `/api/agent/preflights/${offer.preflight_id}/claim`, {});
    assert.equal(res.status, 200, JSON.stringify(res.body));
    return res.body as PreflightClaimResponse;
  }
  const postUpdates = () => s.fake.of("chat.update").filter((c) => c.args.channel === APPROVALS_CHANNEL);

  test("a reported plan redraws the post and the approvers' DMs, and the Review modal shows it", async () => {
    const id = await s.ask(
      SLACK_USERS.alice,
      `query shop production "plan me" UPDATE orders SET status = 'x' WHERE id = 1`,
    );
    const claim = await claimPlan(id);
    s.fake.clear();
    const res = await s.h.call(agent(), "POST", `/api/agent/preflights/${claim.preflight_id}/result`, {
      outcome: "succeeded",
      duration_ms: 2,
      engine: "postgres",
      plan: PLAN,
    });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    await s.settle();
    const post = postUpdates().at(-1);
    assert.match(
      textOf(post),
      /Plan \(estimate, not run\): ~\d[\d,]* rows · costliest: .* · full scans: probe_plans_x1/,
    );
    const dms = s.fake.of("chat.update").filter((c) => String(c.args.channel).startsWith("D"));
    assert.ok(
      dms.some((c) => /Plan \(estimate, not run\)/.test(textOf(c))),
      "approvers' DMs show it",
    );
    const thread = s.fake.of("chat.postMessage").filter((c) => c.args.thread_ts !== undefined);
    assert.deepEqual(thread, [], "no thread reply for a plan");

    await s.slack.click(SLACK_USERS.bob, SLACK_IDS.actions.review, String(id));
    await s.settle();
    const modal = s.fake.of("views.open").at(-1);
    assert.match(textOf(modal), /Plan \(estimate, not run\)/);
    assert.match(textOf(modal), new RegExp(`dbward request plan ${id}`));
  });

  test("a failure to plan is shown on the post, not hidden", async () => {
    const id = await s.ask(
      SLACK_USERS.alice,
      `query shop production "no plan" UPDATE orders SET status = 'y' WHERE id = 2`,
    );
    const claim = await claimPlan(id);
    s.fake.clear();
    await s.h.call(agent(), "POST", `/api/agent/preflights/${claim.preflight_id}/result`, {
      outcome: "failed",
      duration_ms: 2,
      error: { code: "execution.failed", message: 'relation "orders" does not exist' },
    });
    await s.settle();
    assert.match(textOf(postUpdates().at(-1)), /No plan: relation "orders" does not exist/);
  });
});

describe("the dry run's count and the touched tables in Slack", () => {
  let s: SlackHarness;
  const config = SLACK_TEST_CONFIG.replace(
    "    environments: [production, staging]\n",
    "    environments: [production, staging]\n    dry_run: [production]\n",
  );
  before(async () => {
    s = await startSlackHarness(config);
  });
  after(async () => s.stop());

  const agent = () => s.h.agentTokens["agent-1"] ?? "";
  test("the count redraws the post and the DMs; the Review modal shows it and the tables the write changes, the post does not name them", async () => {
    const polled = await s.h.call(agent(), "POST", "/api/agent/poll", {
      capabilities: CAPS,
      wait_ms: 0,
      preflights: ["dry_run"],
    });
    assert.equal(polled.status, 200);
    const schema = await s.h.call(agent(), "POST", "/api/agent/schema", {
      database: "shop",
      environment: "production",
      collected_at: "2026-12-03T09:00:00.000Z",
      truncated: false,
      tables: [
        {
          schema: "public",
          name: "orders",
          estimated_rows: 1_204_000,
          size_bytes: 356_515_840,
          columns: [],
          primary_key: ["id"],
          foreign_keys: [],
          indexes: [],
        },
      ],
    });
    assert.equal(schema.status, 200, JSON.stringify(schema.body));
    const id = await s.ask(
      SLACK_USERS.alice,
      `query shop production "count me" UPDATE orders SET status = 'z' WHERE id < 1205`,
    );
    const again = await s.h.call(agent(), "POST", "/api/agent/poll", {
      capabilities: CAPS,
      wait_ms: 0,
      preflights: ["dry_run"],
    });
    const offer = (again.body as PollResponse).preflights?.find((p) => p.request_id === id);
    assert.ok(offer !== undefined, JSON.stringify(again.body));
    assert.equal(offer.kind, "dry_run");
    assert.equal(
      (await s.h.call(agent(), "POST", `/api/agent/preflights/${offer.preflight_id}/claim`, {})).status,
      200,
    );
    s.fake.clear();
    const res = await s.h.call(agent(), "POST", `/api/agent/preflights/${offer.preflight_id}/result`, {
      outcome: "succeeded",
      duration_ms: 35,
      affected_rows: 1204,
    });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    await s.settle();
    const post = s.fake
      .of("chat.update")
      .filter((c) => c.args.channel === APPROVALS_CHANNEL)
      .at(-1);
    assert.match(textOf(post), /Dry run: would change 1,204 rows \(counted in 35 ms, rolled back\)/);
    assert.doesNotMatch(textOf(post), /1,204,000 rows/, "the channel post names no table sizes");
    const dms = s.fake.of("chat.update").filter((c) => String(c.args.channel).startsWith("D"));
    assert.ok(
      dms.some((c) => /would change 1,204 rows/.test(textOf(c))),
      "approvers' DMs show it",
    );

    await s.slack.click(SLACK_USERS.bob, SLACK_IDS.actions.review, String(id));
    await s.settle();
    const modal = textOf(s.fake.of("views.open").at(-1));
    assert.match(modal, /would change 1,204 rows/);
    assert.match(modal, /Changes \(schema as of 2026-12-03T09:00:00.000Z\)/);
    assert.match(modal, /public\.orders \(~1,204,000 rows, 340 MB\)/);
  });
});
