/**
 * A missing thing is named by its own code (STYLE.md, errors): an unknown user is
 * `user.not_found`, an unknown API token `api_token.not_found`, an unknown join request
 * `join.not_found` — never `request.not_found`, which is for a missing request.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { errorOf, GENEROUS_LIMITS } from "./support/audit-reader.ts";
import { startBotHarness, type BotHarness } from "./support/bot-harness.ts";

const CONFIG = `
databases:
  - { name: shop, dialect: postgres, environments: [production] }
workflows:
  - { name: reads, operations: [read], auto_approve: always }
users:
  - { id: alice, name: Alice, roles: [requester] }
  - { id: root, name: Root, roles: [admin] }
join_requests:
  allowed_roles: [requester]
${GENEROUS_LIMITS}`;

describe("not-found codes", () => {
  let h: BotHarness;
  before(async () => {
    h = await startBotHarness(CONFIG);
  });
  after(async () => h.stop());

  const cases: [string, string, string, unknown, string, RegExp][] = [
    ["reads", "GET", "/api/users/nobody", undefined, "user.not_found", /no user nobody/],
    ["changes", "PATCH", "/api/users/nobody", { roles: ["requester"] }, "user.not_found", /nobody/],
    ["suspends", "POST", "/api/users/nobody/suspend", { reason: "r" }, "user.not_found", /nobody/],
    ["activates", "POST", "/api/users/nobody/activate", { reason: "r" }, "user.not_found", /nobody/],
    ["makes a token for", "POST", "/api/tokens", { user: "nobody", name: "t" }, "user.not_found", /nobody/],
    ["revokes", "DELETE", "/api/tokens/tok_nothere", undefined, "api_token.not_found", /no token/],
    [
      "approves",
      "POST",
      "/api/join-requests/999/approve",
      { reason: "r" },
      "join.not_found",
      /no join request 999/,
    ],
    ["rejects", "POST", "/api/join-requests/999/reject", { reason: "r" }, "join.not_found", /999/],
  ];
  for (const [verb, method, path, body, code, message] of cases) {
    test(`${method} ${path}: an admin who ${verb} a missing one gets 404 ${code}`, async () => {
      const res = await h.call(h.adminToken, method, path, body);
      assert.equal(res.status, 404, JSON.stringify(res.body));
      assert.equal(errorOf(res).code, code);
      assert.match(errorOf(res).message, message);
    });
  }

  test("a missing request is still request.not_found", async () => {
    const res = await h.call(h.adminToken, "GET", "/api/requests/999");
    assert.equal(res.status, 404);
    assert.equal(errorOf(res).code, "request.not_found");
  });
});
