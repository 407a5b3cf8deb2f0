import assert from "node:assert/strict";
import { test } from "node:test";
import { describeEachStoreDialect } from "./each-store-dialect-testing.ts";
import {
  followHomeTab,
  forgetOldHomeTabs,
  listHomeTabsFor,
  listHomeTabsShowingJoins,
  saveHomeTabShown,
} from "./home-tabs-repo.ts";

describeEachStoreDialect("followed Home tabs", (store) => {
  const day = (d: number) => new Date(Date.UTC(2030, 0, d));

  test("a drawn tab that was never opened is not followed", async () => {
    assert.equal(await saveHomeTabShown(store(), "U0NEVER", { requestIds: [1], showsJoins: true }), false);
    assert.deepEqual(await listHomeTabsFor(store(), 1, ["U0NEVER"]), []);
    assert.deepEqual(await listHomeTabsShowingJoins(store()), []);
  });

  test("an opened tab is found by its owner and by the requests it showed", async () => {
    await followHomeTab(store(), "U0A", day(1));
    await followHomeTab(store(), "U0B", day(1));
    assert.equal(await saveHomeTabShown(store(), "U0A", { requestIds: [7, 8, 7], showsJoins: false }), true);
    assert.deepEqual(await listHomeTabsFor(store(), 7, []), ["U0A"]);
    assert.deepEqual(await listHomeTabsFor(store(), 7, ["U0B", "U0STRANGER"]), ["U0A", "U0B"]);
    await saveHomeTabShown(store(), "U0A", { requestIds: [8, 9], showsJoins: true });
    assert.deepEqual(await listHomeTabsFor(store(), 7, []), [], "7 is no longer shown");
    assert.deepEqual(await listHomeTabsFor(store(), 9, []), ["U0A"]);
    assert.deepEqual(await listHomeTabsShowingJoins(store()), ["U0A"]);
    await saveHomeTabShown(store(), "U0A", { requestIds: [], showsJoins: false });
    assert.deepEqual(await listHomeTabsFor(store(), 8, []), []);
    assert.deepEqual(await listHomeTabsShowingJoins(store()), []);
  });

  test("reopening keeps what the tab showed; pruning forgets unopened tabs and caps the count", async () => {
    await followHomeTab(store(), "U0OLD", day(1));
    await saveHomeTabShown(store(), "U0OLD", { requestIds: [40], showsJoins: false });
    await followHomeTab(store(), "U0MID", day(20));
    await saveHomeTabShown(store(), "U0MID", { requestIds: [40], showsJoins: false });
    await followHomeTab(store(), "U0NEW", day(21));
    await followHomeTab(store(), "U0NEW", day(22));
    await saveHomeTabShown(store(), "U0NEW", { requestIds: [40], showsJoins: false });
    await forgetOldHomeTabs(store(), day(10), 2);
    assert.deepEqual(await listHomeTabsFor(store(), 40, []), ["U0MID", "U0NEW"]);
    await forgetOldHomeTabs(store(), day(10), 1);
    assert.deepEqual(await listHomeTabsFor(store(), 40, []), ["U0NEW"]);
    const orphans = await store()
      .selectFrom("home_tab_requests")
      .select("slack_user_id")
      .where("slack_user_id", "in", ["U0OLD", "U0MID"])
      .execute();
    assert.deepEqual(orphans, [], "the rows of forgotten tabs go with them");
  });
});
