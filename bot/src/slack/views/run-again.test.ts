/** Run again in the views: offered on a finished request to its requester, and the link shown. */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { FINAL_STATUSES, REQUEST_STATUSES, isFinalStatus, type RequestView } from "@dbward/shared";
import type { User } from "../../identity/users.ts";
import { SLACK_IDS } from "../ids.ts";
import { approvalMessage } from "./approval-message.ts";
import type { Block } from "./blocks.ts";
import { homeView } from "./home.ts";
import { queryModal } from "./modals.ts";
import { requesterNotice } from "./request-story.ts";
import { resultMessage } from "./result-message.ts";
import { sampleCard, sampleRequest } from "../../../../test/support/slack/sample-cards.ts";

const alice: User = {
  id: "alice",
  name: "Alice",
  email: null,
  slackUserId: "U0ALICE01",
  roles: ["requester"],
  groups: [],
  status: "active",
  source: "config",
  oidcSubject: null,
  createdAt: "2026-01-01T00:00:00.000Z",
  updatedAt: "2026-01-01T00:00:00.000Z",
};

/** [action_id, value] of every button in the blocks, in actions blocks and section accessories. */
function buttons(blocks: readonly Block[]): [string, string][] {
  return blocks.flatMap((b): [string, string][] => {
    if (b.type === "actions")
      return b.elements.flatMap((e) => (e.type === "button" ? [[e.action_id ?? "", e.value ?? ""]] : []));
    if (b.type === "section" && b.accessory?.type === "button")
      return [[b.accessory.action_id ?? "", b.accessory.value ?? ""]];
    return [];
  });
}

const runAgain = (id: number): [string, string] => [SLACK_IDS.actions.runAgain, String(id)];

describe("Run again in the views", () => {
  test("the requester's notice of a finished request offers Run again", () => {
    for (const [status, action] of [
      ["succeeded", "request.finished"],
      ["failed", "request.finished"],
      ["timed_out", "request.finished"],
      ["lost", "request.lost"],
      ["rejected", "request.rejected"],
    ] as const) {
      const notice = requesterNotice(sampleCard({ status }, []), action, "user:bob");
      assert.deepEqual(buttons(notice?.blocks ?? []), [runAgain(12)], status);
    }
  });

  test("the requester's copy of a result offers Run again; the copy shared with others does not", () => {
    for (const columns of [["id"], []]) {
      const result = {
        columns,
        rows: columns.length > 0 ? [[1]] : [],
        row_count: columns.length,
        truncated: false,
        request_id: 12,
        execution: 1,
        duration_ms: 4,
      };
      const mine = resultMessage(result, 5, { runAgain: true });
      assert.deepEqual(buttons(mine.blocks), [runAgain(12)], `${columns.length} columns`);
      assert.match(JSON.stringify(mine.blocks), /Result of request #12/);
      assert.deepEqual(buttons(resultMessage(result, 5).blocks), []);
    }
  });

  test("the notice of an approval still on its way offers nothing", () => {
    const notice = requesterNotice(sampleCard({ status: "dispatched" }, []), "request.approved", "user:bob");
    assert.ok(notice !== undefined);
    assert.deepEqual(buttons(notice.blocks), []);
  });

  test("the Home tab offers Run again beside each finished request of its owner, and only those", () => {
    const recent: RequestView[] = REQUEST_STATUSES.map((status, i) =>
      sampleRequest({ id: 300 + i, requester: "alice", status }),
    );
    const view = homeView({
      kind: "active",
      user: alice,
      awaiting: [],
      moreAwaiting: false,
      recent,
      people: [alice],
    });
    const offered = buttons(view.blocks as Block[]).filter(([a]) => a === SLACK_IDS.actions.runAgain);
    assert.deepEqual(
      offered,
      recent.filter((r) => isFinalStatus(r.status)).map((r) => runAgain(r.id)),
    );
    assert.equal(offered.length, FINAL_STATUSES.length);
  });

  test("a request that runs another again says so on its card and in the Home tab", () => {
    const card = sampleCard({ rerun_of: 7 });
    assert.match(
      JSON.stringify(approvalMessage(card, { showSql: true, buttons: true }).blocks),
      /Run again of #7/,
    );
    assert.doesNotMatch(
      JSON.stringify(approvalMessage(sampleCard(), { showSql: true, buttons: true })),
      /Run again/,
    );
    const view = homeView({
      kind: "active",
      user: alice,
      awaiting: [],
      moreAwaiting: false,
      recent: [sampleRequest({ requester: "alice", rerun_of: 7 })],
      people: [alice],
    });
    assert.match(JSON.stringify(view.blocks), /Run again of #7/);
  });

  test("the query form opened by Run again is prefilled, says it needs approval again, and remembers the original", () => {
    const targets = [{ database: "shop", environments: ["production", "staging"] }];
    const draft = { database: "shop", environment: "production", sql: "SELECT 1", reason: "again" };
    const modal = queryModal(targets, draft, { rerunOf: 7 });
    assert.equal(modal.callback_id, SLACK_IDS.views.query);
    assert.equal(modal.title.text, "Run #7 again");
    assert.deepEqual(JSON.parse(modal.private_metadata ?? ""), { rerunOf: 7 });
    const text = JSON.stringify(modal.blocks);
    assert.match(text, /needs approval again/);
    assert.match(text, /"initial_value":"SELECT 1"/);
    assert.match(text, /"initial_value":"again"/);
    const plain = queryModal(targets, draft);
    assert.equal(plain.private_metadata, undefined);
    assert.equal(plain.title.text, "Request a query");
  });
});
