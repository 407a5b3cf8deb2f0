import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { JoinRequestView } from "@dbward/shared";
import type { User } from "../../identity/users.ts";
import { HOME_LIMITS, type HomeDescription } from "../../use-cases/describe-home.ts";
import { SLACK_IDS } from "../ids.ts";
import { LIMITS } from "./blocks.ts";
import { HOME_MAX_BLOCKS, homeView } from "./home.ts";
import { sampleRequest } from "../../../../test/support/slack/sample-cards.ts";

const person = (id: string, more: Partial<User> = {}): User => ({
  id,
  name: `Name ${id}`,
  email: null,
  slackUserId: `U0${id.toUpperCase()}`,
  roles: ["requester", "approver"],
  groups: [],
  status: "active",
  source: "config",
  oidcSubject: null,
  createdAt: "2026-01-01T00:00:00.000Z",
  updatedAt: "2026-01-01T00:00:00.000Z",
  ...more,
});

/** The fullest tab there can be: every list at its limit, long SQL, warnings, executions. */
function fullest(admin = true): HomeDescription {
  const long = `SELECT ${"a_rather_long_column_name, ".repeat(400)}1 FROM orders`;
  const warn = { rule: "no-where", severity: "warn" as const, message: "x".repeat(2000) };
  return {
    kind: "active",
    user: person("bob"),
    awaiting: Array.from({ length: HOME_LIMITS.awaiting }, (_, i) =>
      sampleRequest({
        id: 100 + i,
        sql: long,
        reason: "r".repeat(5000),
        review: { class: "write", risk: "high", findings: [warn, warn, warn] },
      }),
    ),
    moreAwaiting: true,
    recent: Array.from({ length: HOME_LIMITS.recent }, (_, i) =>
      sampleRequest({
        id: 200 + i,
        requester: "bob",
        status: "failed",
        reason: "q".repeat(5000),
        executions: [
          {
            number: 1,
            agent: "agent-1",
            status: "failed",
            started_at: "2026-01-01T00:00:00.000Z",
            finished_at: null,
            row_count: null,
            affected_rows: null,
            duration_ms: 5,
            result_truncated_by: null,
            error: { code: "db.error", message: "e".repeat(5000) },
          },
        ],
      }),
    ),
    people: [person("alice"), person("bob")],
    ...(admin
      ? {
          joinRequests: {
            shown: Array.from({ length: HOME_LIMITS.joinRequests }, (_, i) => joinRequest(`join_${i}`)),
            total: HOME_LIMITS.joinRequests + 4,
          },
        }
      : {}),
  };
}

function joinRequest(id: string): JoinRequestView {
  return {
    id,
    slack_user_id: `U0${id.toUpperCase()}`,
    name: "n".repeat(100),
    email: null,
    requested_role: "requester",
    groups: ["g".repeat(200), "payments"],
    reason: "w".repeat(500),
    status: "pending",
    created_at: "2026-01-01T00:00:00.000Z",
    expires_at: "2026-01-04T00:00:00.000Z",
    decided_by: null,
    decided_at: null,
    decision_reason: null,
    user_id: null,
  };
}

/** Every mrkdwn or plain text in the view, with the block type it sits in. */
function texts(blocks: unknown[]): { type: string; text: string }[] {
  const out: { type: string; text: string }[] = [];
  for (const b of blocks as Record<string, unknown>[]) {
    const type = String(b.type);
    const t = b.text as { text?: string } | undefined;
    if (t?.text !== undefined) out.push({ type, text: t.text });
    for (const f of (b.fields ?? []) as { text: string }[]) out.push({ type: "field", text: f.text });
    for (const e of (b.elements ?? []) as { text?: unknown }[])
      if (typeof e.text === "string") out.push({ type, text: e.text });
  }
  return out;
}

describe("the Home tab view", () => {
  test("the fullest tab stays within Slack's block and text limits", () => {
    const view = homeView(fullest());
    assert.equal(view.type, "home");
    assert.equal(view.callback_id, SLACK_IDS.views.home);
    assert.ok(view.blocks.length <= HOME_MAX_BLOCKS, `${view.blocks.length} blocks`);
    for (const { type, text } of texts(view.blocks)) {
      const max = type === "field" ? LIMITS.field : LIMITS.sectionText;
      assert.ok(text.length <= max, `${type} text of ${text.length} characters`);
    }
    assert.ok(JSON.stringify(view).length < 250_000, "Slack refuses views over 250 kB");
  });

  test("each waiting request carries Review, Approve and Reject for its own id", () => {
    const view = homeView(fullest());
    const actions = (view.blocks as { type: string; elements?: { action_id?: string; value?: string }[] }[])
      .filter((b) => b.type === "actions" && b.elements?.[0]?.action_id === SLACK_IDS.actions.review)
      .map((b) => (b.elements ?? []).map((e) => [e.action_id, e.value]));
    assert.deepEqual(
      actions,
      Array.from({ length: HOME_LIMITS.awaiting }, (_, i) => [
        [SLACK_IDS.actions.review, String(100 + i)],
        [SLACK_IDS.actions.approve, String(100 + i)],
        [SLACK_IDS.actions.reject, String(100 + i)],
      ]),
    );
  });

  test("an admin's tab carries Approve and Reject for each join request shown, and says more wait", () => {
    const view = homeView(fullest());
    const json = JSON.stringify(view.blocks);
    for (let i = 0; i < HOME_LIMITS.joinRequests; i++) {
      assert.ok(json.includes(`"action_id":"${SLACK_IDS.actions.joinApprove}","value":"join_${i}"`));
      assert.ok(json.includes(`"action_id":"${SLACK_IDS.actions.joinReject}","value":"join_${i}"`));
    }
    assert.match(json, /Join requests\* \(9\)/);
    assert.match(json, /More wait than fit here/);
    assert.doesNotMatch(JSON.stringify(homeView(fullest(false)).blocks), /Join requests|dbward\.join\./);
  });

  test("escapes what people typed", () => {
    const home = fullest();
    const view = homeView({
      ...home,
      kind: "active",
      awaiting: [sampleRequest({ reason: "<!channel> & <b>" })],
      recent: [],
      moreAwaiting: false,
    } as HomeDescription);
    const json = JSON.stringify(view.blocks);
    assert.ok(json.includes("&lt;!channel&gt; &amp; &lt;b&gt;"));
    assert.ok(!json.includes("<!channel>"));
  });

  test("says so when nothing waits and nothing was asked", () => {
    const view = homeView({
      kind: "active",
      user: person("bob"),
      awaiting: [],
      moreAwaiting: false,
      recent: [],
      people: [],
    });
    const json = JSON.stringify(view.blocks);
    assert.match(json, /Waiting for your decision\*: nothing right now/);
    assert.match(json, /Your latest requests\*: none yet/);
    assert.ok(!view.blocks.some((b) => b.type === "actions"));
  });

  test("an unknown or suspended person gets no requests and no buttons", () => {
    for (const home of [
      { kind: "unlinked", slackUserId: "U0NEW" } as const,
      { kind: "suspended", user: person("sam", { status: "suspended" }) } as const,
    ]) {
      const view = homeView(home);
      assert.ok(!view.blocks.some((b) => b.type === "actions"));
      assert.doesNotMatch(JSON.stringify(view.blocks), /Request #/);
    }
  });
});
