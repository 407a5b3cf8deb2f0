import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { UserView } from "@dbward/shared";
import { SLACK_IDS } from "../ids.ts";
import { MAX_LISTED_USERS, addUserModal, adminModal, editUserModal } from "./admin.ts";

const user = (id: string, more: Partial<UserView> = {}): UserView => ({
  id,
  name: `Name ${id}`,
  email: null,
  slack_user_id: null,
  roles: ["requester"],
  groups: [],
  status: "active",
  source: "admin",
  oidc_subject: null,
  created_at: "2026-01-01T00:00:00.000Z",
  updated_at: "2026-01-01T00:00:00.000Z",
  ...more,
});

describe("admin views", () => {
  test("the list shows Suspend for active users and Activate for suspended ones, and the notice first", () => {
    const view = adminModal([user("a"), user("b", { status: "suspended" })], "Done.");
    assert.equal(view.callback_id, SLACK_IDS.views.admin);
    const json = JSON.stringify(view.blocks);
    assert.match(json, new RegExp(`"action_id":"${SLACK_IDS.actions.adminSuspend}","value":"a"`));
    assert.match(json, new RegExp(`"action_id":"${SLACK_IDS.actions.adminActivate}","value":"b"`));
    assert.match(JSON.stringify(view.blocks[0]), /Done\./);
  });

  test("a long list stays within Slack's block limit and says how many are left out", () => {
    const many = Array.from({ length: MAX_LISTED_USERS + 7 }, (_, i) => user(`u${i}`));
    const view = adminModal(many, "x");
    assert.ok(view.blocks.length <= 100);
    assert.match(JSON.stringify(view.blocks.at(-1)), /7 more users/);
  });

  test("names are escaped", () => {
    assert.match(JSON.stringify(adminModal([user("a", { name: "<b>&" })]).blocks), /&lt;b&gt;&amp;/);
  });

  test("the forms remember the list they return to, and the edit form starts from the user's roles", () => {
    const add = addUserModal(["requester", "admin"], { root: "V1" });
    assert.deepEqual(JSON.parse(add.private_metadata ?? ""), { root: "V1" });
    const edit = editUserModal(
      user("a", { roles: ["admin"], groups: ["g1", "g2"] }),
      ["requester", "admin"],
      {
        root: "V1",
        userId: "a",
      },
    );
    const json = JSON.stringify(edit.blocks);
    assert.match(json, /"initial_options":\[\{"text":\{"type":"plain_text","text":"admin"/);
    assert.match(json, /"initial_value":"g1, g2"/);
  });
});
