/**
 * Trojan Source on every Slack surface that shows SQL: the channel post, the approver's DM, the
 * review modal, the Home tab and the requester's answer all show invisible characters escaped,
 * never raw.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { User } from "../../identity/users.ts";
import { approvalMessage } from "./approval-message.ts";
import { homeView } from "./home.ts";
import { reviewModal } from "./modals.ts";
import { createdMessage } from "./replies.ts";
import { sampleCard, sampleRequest } from "../../../../test/support/slack/sample-cards.ts";

/** Looks like `… WHERE id = 1 -- ok`, runs as written: an RLO and a zero-width space inside. */
const SQL = "UPDATE orders SET status = 'paid' WHERE id < 10 /*\u202e ko -- */ \u200bAND 1 = 1";
const SHOWN = "UPDATE orders SET status = 'paid' WHERE id < 10 /*⟨U+202E⟩ ko -- */ ⟨U+200B⟩AND 1 = 1";

/** Every string a Block Kit payload carries. */
function strings(v: unknown): string[] {
  if (typeof v === "string") return [v];
  if (Array.isArray(v)) return v.flatMap(strings);
  if (typeof v === "object" && v !== null) return Object.values(v).flatMap(strings);
  return [];
}

function assertEscaped(payload: unknown): void {
  const all = strings(payload);
  assert.ok(
    all.some((s) => s.includes(SHOWN)),
    "the escaped SQL is shown",
  );
  assert.ok(!all.some((s) => /[\u202e\u200b]/u.test(s)), "no raw invisible character is sent");
}

const bob: User = {
  id: "bob",
  name: "Bob",
  email: null,
  slackUserId: "U0BOB0001",
  roles: ["approver"],
  groups: [],
  status: "active",
  source: "config",
  oidcSubject: null,
  createdAt: "2026-01-01T00:00:00.000Z",
  updatedAt: "2026-01-01T00:00:00.000Z",
};

describe("SQL with invisible characters in Slack views", () => {
  test("the channel post shows them escaped", () => {
    assertEscaped(approvalMessage(sampleCard({ sql: SQL }), { showSql: true, buttons: true }));
  });

  test("the approver's DM shows them escaped", () => {
    const dm = approvalMessage(sampleCard({ sql: SQL }), {
      showSql: true,
      buttons: true,
      lead: "*You can decide on this request.*",
    });
    assertEscaped(dm);
  });

  test("the review modal shows them escaped", () => {
    assertEscaped(reviewModal(sampleCard({ sql: SQL }), { requestId: 12, channel: "C1" }));
  });

  test("the Home tab shows them escaped", () => {
    const view = homeView({
      kind: "active",
      user: bob,
      awaiting: [sampleRequest({ sql: SQL })],
      moreAwaiting: false,
      recent: [],
      people: [bob],
    });
    assertEscaped(view);
  });

  test("the requester's answer shows them escaped and says the SQL holds the characters themselves", () => {
    const m = createdMessage(sampleCard({ sql: SQL }));
    assertEscaped(m);
    assert.ok(strings(m).some((s) => s.includes("written as `⟨U+…⟩`")));
    assert.ok(!strings(createdMessage(sampleCard())).some((s) => s.includes("⟨U+")));
  });
});
