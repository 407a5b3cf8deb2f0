/**
 * Which Home tabs are followed and what each showed when last drawn (schema.sql `home_tabs`,
 * `home_tab_requests`), so the instance that sends a change's outbox row redraws every tab the
 * change shows up in, wherever the tab was opened (slack/home-tabs.ts).
 *
 * Single statements, no transaction: this is a record of what Slack shows, not of a decision, and
 * it converges — redraws of one person run one at a time (the outbox's `home:<user>` lane), and
 * each draw rewrites that person's rows from what it drew. Bounded by `forgetOldHomeTabs`.
 */
import type { Kysely } from "kysely";
import type { Database } from "./tables.ts";

/** The person opened their tab: follow it from `now` (what it shows is kept until the next draw). */
export async function followHomeTab(db: Kysely<Database>, slackUserId: string, now: Date): Promise<void> {
  await db
    .insertInto("home_tabs")
    .values({ slack_user_id: slackUserId, shows_joins: 0, opened_at: now.toISOString() })
    .onConflict((oc) => oc.column("slack_user_id").doUpdateSet({ opened_at: now.toISOString() }))
    .execute();
}

/**
 * Records what a drawn tab shows, when the tab is followed; false (and nothing written) when it
 * is not. Rows of requests it no longer shows go, new ones are added.
 */
export async function saveHomeTabShown(
  db: Kysely<Database>,
  slackUserId: string,
  shown: { readonly requestIds: readonly number[]; readonly showsJoins: boolean },
): Promise<boolean> {
  const updated = await db
    .updateTable("home_tabs")
    .set({ shows_joins: shown.showsJoins ? 1 : 0 })
    .where("slack_user_id", "=", slackUserId)
    .executeTakeFirst();
  if (updated.numUpdatedRows === 0n) return false;
  const ids = [...new Set(shown.requestIds)];
  let stale = db.deleteFrom("home_tab_requests").where("slack_user_id", "=", slackUserId);
  if (ids.length > 0) stale = stale.where("request_id", "not in", ids);
  await stale.execute();
  if (ids.length > 0)
    await db
      .insertInto("home_tab_requests")
      .values(ids.map((request_id) => ({ slack_user_id: slackUserId, request_id })))
      .onConflict((oc) => oc.columns(["slack_user_id", "request_id"]).doNothing())
      .execute();
  return true;
}

/** The followed tabs among `slackUserIds`, and those whose last drawing showed `requestId`. */
export async function listHomeTabsFor(
  db: Kysely<Database>,
  requestId: number,
  slackUserIds: readonly string[],
): Promise<string[]> {
  const showing = await db
    .selectFrom("home_tab_requests")
    .innerJoin("home_tabs", "home_tabs.slack_user_id", "home_tab_requests.slack_user_id")
    .select("home_tab_requests.slack_user_id")
    .where("home_tab_requests.request_id", "=", requestId)
    .execute();
  const concerned =
    slackUserIds.length === 0
      ? []
      : await db
          .selectFrom("home_tabs")
          .select("slack_user_id")
          .where("slack_user_id", "in", [...slackUserIds])
          .execute();
  return [...new Set([...concerned, ...showing].map((r) => r.slack_user_id))].sort();
}

/** The followed tabs drawn with the join requests section. */
export async function listHomeTabsShowingJoins(db: Kysely<Database>): Promise<string[]> {
  const rows = await db
    .selectFrom("home_tabs")
    .select("slack_user_id")
    .where("shows_joins", "=", 1)
    .orderBy("slack_user_id")
    .execute();
  return rows.map((r) => r.slack_user_id);
}

/**
 * Forgets tabs not opened since `openedBefore`, then all but the `max` most recently opened, and
 * the rows of tabs no longer followed. A forgotten tab is drawn fresh when next opened.
 */
export async function forgetOldHomeTabs(
  db: Kysely<Database>,
  openedBefore: Date,
  max: number,
): Promise<void> {
  await db.deleteFrom("home_tabs").where("opened_at", "<", openedBefore.toISOString()).execute();
  const oldestKept = await db
    .selectFrom("home_tabs")
    .select("opened_at")
    .orderBy("opened_at", "desc")
    .limit(1)
    .offset(max - 1)
    .executeTakeFirst();
  if (oldestKept !== undefined)
    await db.deleteFrom("home_tabs").where("opened_at", "<", oldestKept.opened_at).execute();
  await db
    .deleteFrom("home_tab_requests")
    .where("slack_user_id", "not in", db.selectFrom("home_tabs").select("slack_user_id"))
    .execute();
}
