import assert from "node:assert/strict";
import { before, test } from "node:test";
import { inTransaction } from "./in-transaction.ts";
import { describeEachStoreDialect } from "./each-store-dialect-testing.ts";
import {
  casUserStatus,
  findOtherUserWithLink,
  findUserRow,
  isUserIdTaken,
  listActiveUserRoles,
  updateUserProfile,
} from "./users-repo.ts";

const NOW = new Date("2030-01-01T12:00:00.000Z");

describeEachStoreDialect("users in the store", (opened) => {
  const user = (id: string, roles: string, status: "active" | "suspended", slack: string | null) => ({
    id,
    display_name: id,
    email: null,
    slack_user_id: slack,
    roles,
    groups_json: "[]",
    status,
    source: "admin" as const,
    created_at: "2030-01-01T00:00:00.000Z",
    updated_at: "2030-01-01T00:00:00.000Z",
    oidc_subject: null,
  });
  before(async () => {
    await opened()
      .insertInto("users")
      .values([
        user("ada", '["admin"]', "active", "U1"),
        user("bob", '["requester"]', "active", null),
        user("cy", '["admin"]', "suspended", null),
      ])
      .execute();
  });

  test("lists the active users with their parsed roles", async () => {
    const store = opened();
    assert.deepEqual(await listActiveUserRoles(store), [
      { id: "ada", roles: ["admin"] },
      { id: "bob", roles: ["requester"] },
    ]);
  });

  test("moves a user's status only from the status it is in", async () => {
    const store = opened();
    assert.equal(
      await inTransaction(store, (tx) => casUserStatus(tx, "ada", "suspended", "active", NOW)),
      false,
    );
    assert.equal(
      await inTransaction(store, (tx) => casUserStatus(tx, "cy", "suspended", "active", NOW)),
      true,
    );
    const cy = await findUserRow(store, "cy");
    assert.deepEqual([cy?.status, cy?.updated_at], ["active", NOW.toISOString()]);
    assert.equal(
      await inTransaction(store, (tx) => casUserStatus(tx, "cy", "active", "suspended", NOW)),
      true,
    );
  });

  test("finds who else holds a link, and whether an id is taken", async () => {
    const store = opened();
    assert.equal(await findOtherUserWithLink(store, "slack_user_id", "U1", "bob"), "ada");
    assert.equal(await findOtherUserWithLink(store, "slack_user_id", "U1", "ada"), undefined);
    assert.equal(await isUserIdTaken(store, "bob"), true);
    assert.equal(await isUserIdTaken(store, "dee"), false);
  });

  test("writes only the profile columns it is given", async () => {
    const store = opened();
    await inTransaction(store, (tx) => updateUserProfile(tx, "bob", { display_name: "Bob B" }, NOW));
    const bob = await findUserRow(store, "bob");
    assert.deepEqual(
      [bob?.display_name, bob?.roles, bob?.updated_at],
      ["Bob B", '["requester"]', NOW.toISOString()],
    );
  });

  test("refuses stored roles that are not a list of names", async () => {
    const store = opened();
    await store
      .insertInto("users")
      .values(user("eve", '{"admin":true}', "active", null))
      .execute();
    await assert.rejects(listActiveUserRoles(store), /user eve has malformed roles/);
  });
});
