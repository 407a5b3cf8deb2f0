/**
 * Approving as a chosen selector in Slack (issue 13): an approver who matches several selectors
 * the waiting step still needs picks one in the review modal, and the approval counts for it; a
 * submission naming a selector they do not match is refused like any other refusal. Asserted on
 * what reached the fake Slack and on the stored approval rows.
 */
import assert from "node:assert/strict";
import { after, before, beforeEach, describe, test } from "node:test";
import { SLACK_IDS } from "../../bot/src/slack/ids.ts";
import type { RequestView } from "@dbward/shared";
import { input, type ViewValues } from "./slack-requests.ts";
import {
  APPROVALS_CHANNEL,
  SLACK_USERS,
  startSlackHarness,
  textOf,
  type SlackHarness,
} from "./slack-harness.ts";

const DANA = "U0DANA0001";

const CONFIG = `
databases: [{ name: shop, dialect: postgres, environments: [production] }]
workflows:
  - name: two-teams
    operations: [read, write]
    steps:
      - { name: both teams, approvers: ["group:dba", "group:security"], mode: all, min: 1 }
users:
  - { id: alice, name: Alice, slack_user_id: ${SLACK_USERS.alice}, roles: [requester] }
  - { id: dana, name: Dana, slack_user_id: ${DANA}, roles: [approver], groups: [dba, security] }
  - { id: sam, name: Sam, slack_user_id: ${SLACK_USERS.sam}, roles: [approver], groups: [security] }
  - { id: olga, name: Olga, slack_user_id: ${SLACK_USERS.olga}, roles: [operator] }
  - { id: root, name: Root, roles: [admin] }
agents: [{ id: agent-1 }]
bootstrap_admin: root
slack:
  approvals_channel: ${APPROVALS_CHANNEL}
`;

interface Modal {
  callback_id: string;
  private_metadata: string;
  blocks: {
    block_id?: string;
    element?: {
      action_id: string;
      options?: { value: string }[];
      initial_option?: { value: string };
    };
  }[];
}

describe("approving as a chosen selector in Slack", () => {
  let s: SlackHarness;
  before(async () => {
    s = await startSlackHarness(CONFIG);
  });
  after(async () => s.stop());
  beforeEach(() => s.fake.clear());

  const ids = SLACK_IDS.inputs;
  let n = 0;
  const ask = (): Promise<number> =>
    s.ask(
      SLACK_USERS.alice,
      `query shop production "two teams" UPDATE orders SET status = 'x' WHERE id = ${++n}`,
    );

  async function view(id: number): Promise<RequestView> {
    return (await s.h.call(await s.h.tokenFor("olga"), "GET", `/api/requests/${id}`)).body as RequestView;
  }

  /** The stored approvals of a request: who, under which selector. */
  async function approvalRows(id: number): Promise<[string, string][]> {
    const rows = await s.h.bot.store
      .selectFrom("approvals")
      .select(["approver", "selector"])
      .where("request_id", "=", id)
      .execute();
    return rows.map((r) => [r.approver, r.selector]);
  }

  /** Clicks Review as `slackUser` and answers the modal Slack was asked to open. */
  async function review(slackUser: string, id: number): Promise<Modal> {
    s.fake.clear();
    await s.slack.click(slackUser, SLACK_IDS.actions.review, String(id));
    await s.settle();
    const modal = s.fake.of("views.open")[0]?.args.view as Modal | undefined;
    assert.ok(modal !== undefined, "the review modal opened");
    assert.equal(modal.callback_id, SLACK_IDS.views.review);
    return modal;
  }

  const approveAsSelect = (m: Modal) => m.blocks.find((b) => b.block_id === ids.approveAs.block)?.element;

  function approval(as?: string): ViewValues {
    return {
      [ids.decision.block]: { [ids.decision.action]: input.radio(SLACK_IDS.decisions.approve) },
      ...(as !== undefined ? { [ids.approveAs.block]: { [ids.approveAs.action]: input.select(as) } } : {}),
      [ids.comment.block]: { [ids.comment.action]: input.text(null) },
    };
  }

  test("an approver in both teams picks which one they approve as; the approval counts for it and the step stays open", async () => {
    const id = await ask();
    const modal = await review(DANA, id);
    const choice = approveAsSelect(modal);
    assert.deepEqual(
      choice?.options?.map((o) => o.value),
      ["group:dba", "group:security"],
    );
    assert.equal(choice?.initial_option?.value, "group:dba", "the first still short is the default");

    s.fake.clear();
    const res = await s.slack.submitView(
      DANA,
      SLACK_IDS.views.review,
      approval("group:security"),
      modal.private_metadata,
    );
    assert.equal(res.text, "", "the modal closes");
    await s.settle();
    assert.deepEqual(await approvalRows(id), [["dana", "group:security"]]);
    assert.equal((await view(id)).status, "pending_approval", "group:dba still needs its approver");
    assert.match(textOf(s.fake.of("chat.postEphemeral")[0]), new RegExp(`You approved request #${id}`));
    const update = s.fake.of("chat.update").find((c) => c.args.channel === APPROVALS_CHANNEL);
    assert.match(textOf(update), /Approved by <@U0DANA0001>/);

    const samSees = await review(SLACK_USERS.sam, id);
    assert.equal(approveAsSelect(samSees), undefined, "Sam has nothing to choose");
  });

  test("an approver who matches one selector is not asked, and their approval counts for it", async () => {
    const id = await ask();
    const modal = await review(SLACK_USERS.sam, id);
    assert.equal(approveAsSelect(modal), undefined);
    assert.ok(
      modal.blocks.some((b) => b.block_id === ids.decision.block),
      "the decision is still asked",
    );
    await s.slack.submitView(SLACK_USERS.sam, SLACK_IDS.views.review, approval(), modal.private_metadata);
    await s.settle();
    assert.deepEqual(await approvalRows(id), [["sam", "group:security"]]);
  });

  test("a forged submission naming a selector the approver does not match is refused, changes nothing, and is audited", async () => {
    const id = await ask();
    const modal = await review(SLACK_USERS.sam, id);
    const seq = (await s.audit()).at(-1)?.seq ?? 0;
    s.fake.clear();
    await s.slack.submitView(
      SLACK_USERS.sam,
      SLACK_IDS.views.review,
      approval("group:dba"),
      modal.private_metadata,
    );
    await s.settle();
    assert.deepEqual(await approvalRows(id), []);
    assert.equal((await view(id)).status, "pending_approval");
    const answer = s.fake.of("chat.postEphemeral")[0];
    assert.equal(answer?.args.user, SLACK_USERS.sam);
    assert.match(textOf(answer), /you cannot approve as group:dba here; you may approve as group:security/i);
    assert.doesNotMatch(textOf(answer), /You approved/);
    const events = (await s.audit()).filter((e) => e.seq > seq).map((e) => [e.actor, e.action, e.outcome]);
    assert.deepEqual(events, [["user:sam", "request.approve_refused", "denied"]]);
  });
});
