import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { requesterNotice, threadStep } from "./request-story.ts";
import { sampleCard } from "../../../../test/support/slack/sample-cards.ts";

describe("thread replies and requester notices", () => {
  test("the creating change has no thread reply: the post is the start of the thread", () => {
    assert.equal(threadStep(sampleCard(), "request.created", "user:alice"), undefined);
  });

  test("a partial approval says who approved and who is still needed", () => {
    const m = threadStep(sampleCard({}, ["carol"]), "request.approved", "user:bob");
    assert.match(m?.text ?? "", /<@U0BOB0001> approved\. Still needed: 1 of `role:approver`: <@U0CAROL01>/);
  });

  test("a rejection carries the reason to the thread and to the requester", () => {
    const card = sampleCard({ status: "rejected", status_reason: "use a <LIMIT>" }, []);
    assert.match(
      threadStep(card, "request.rejected", "user:bob")?.text ?? "",
      /rejected it: use a &lt;LIMIT&gt;/,
    );
    assert.match(
      requesterNotice(card, "request.rejected", "user:bob")?.text ?? "",
      /was rejected by <@U0BOB0001>/,
    );
  });

  test("the requester hears of the final approval, not of a partial one", () => {
    assert.equal(requesterNotice(sampleCard({}, ["carol"]), "request.approved", "user:bob"), undefined);
    const done = requesterNotice(sampleCard({ status: "dispatched" }, []), "request.approved", "user:carol");
    assert.match(done?.text ?? "", /was approved by <@U0CAROL01>/);
  });

  test("a request that ended without running tells the requester why, from its status reason", () => {
    const card = sampleCard(
      { status: "failed", status_reason: "execution limit reached: shop/production allows 1 <execution>" },
      [],
    );
    const notice = requesterNotice(card, "request.finished", "system");
    assert.match(notice?.text ?? "", /execution limit reached: shop\/production allows 1 &lt;execution&gt;/);
    assert.match(threadStep(card, "request.finished", "system")?.text ?? "", /execution limit reached/);
  });

  test("a failed execution reports the database's error", () => {
    const card = sampleCard(
      {
        status: "failed",
        executions: [
          {
            number: 1,
            agent: "agent-1",
            status: "failed",
            started_at: "",
            finished_at: "",
            row_count: null,
            affected_rows: null,
            duration_ms: 5,
            result_truncated_by: null,
            error: { code: "execution.failed", message: 'relation "orders" does not exist' },
          },
        ],
      },
      [],
    );
    assert.match(threadStep(card, "request.finished", "agent:agent-1")?.text ?? "", /Failed.*does not exist/);
    assert.match(requesterNotice(card, "request.finished", "agent:agent-1")?.text ?? "", /Failed/);
  });

  test("a claim by an agent reads as the start of the run", () => {
    const m = threadStep(sampleCard({ status: "running" }, []), "request.claimed", "agent:agent-1");
    assert.equal(m?.text, ":gear: agent `agent-1` started running it.");
  });

  const lateExecution = (code: string, affected: number | null) => ({
    number: 1,
    agent: "agent-1",
    status: "lost" as const,
    started_at: "2026-01-01T00:00:00.000Z",
    finished_at: "2026-01-01T00:01:00.000Z",
    row_count: null,
    affected_rows: affected,
    duration_ms: null,
    result_truncated_by: null,
    error: { code, message: "from the agent" },
  });

  test("a lost request whose agent later reported the commit says it executed, with its rows, not that it may not have run", () => {
    const card = sampleCard(
      { status: "lost", executions: [lateExecution("execution.result_undelivered", 3)] },
      [],
    );
    for (const m of [
      threadStep(card, "request.finished", "agent:agent-1"),
      requesterNotice(card, "request.finished", "agent:agent-1"),
    ]) {
      assert.match(m?.text ?? "", /Executed, result not delivered/);
      assert.match(m?.text ?? "", /3 rows affected/);
      assert.doesNotMatch(m?.text ?? "", /may or may not have run/);
    }
  });

  test("a lost request whose agent cannot tell says the outcome is unknown and to check the target", () => {
    const card = sampleCard(
      { status: "lost", executions: [lateExecution("execution.outcome_unknown", null)] },
      [],
    );
    const m = threadStep(card, "request.finished", "agent:agent-1");
    assert.match(m?.text ?? "", /Outcome unknown: check the target/);
    assert.match(m?.text ?? "", /cannot tell whether it committed/);
  });
});
