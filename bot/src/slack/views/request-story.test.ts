import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { requesterNotice, threadStep } from "./request-story.ts";
import { sampleCard } from "./test-cards.ts";

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
});
