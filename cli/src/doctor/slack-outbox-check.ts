/**
 * Doctor's view of the Slack outbox (docs/slack.md, section 9): how many deliveries wait, how
 * long the oldest has waited, and the latest ones given up on, read from the state store — the
 * same queries on the SQLite file and on PostgreSQL state, over a store opened read-only. A
 * backlog or a failure is a warning, not a failure: the bot starts either way, and what waits is
 * sent once Slack takes it.
 */
import type { Store } from "@dbward/bot/store/open-store";
import { ok, warn, type Check } from "./check.ts";
import { hasTable } from "./has-table.ts";

const WHAT = "Slack outbox";
/** A delivery waiting longer than this means Slack has been refusing for a while. */
const STALE_MS = 15 * 60_000;

export async function checkSlackOutbox(store: Store, now: Date = new Date()): Promise<Check[]> {
  try {
    if (!(await hasTable(store, "slack_outbox")))
      return [ok(WHAT, "empty (the bot creates it at its next start)")];
    const pending = await store
      .selectFrom("slack_outbox")
      .select((eb) => [eb.fn.countAll<number>().as("n"), eb.fn.min("created_at").as("oldest")])
      .where("status", "=", "pending")
      .executeTakeFirstOrThrow();
    const failures = await store
      .selectFrom("slack_outbox")
      .select(["lane", "last_error", "updated_at"])
      .where("status", "=", "failed")
      .orderBy("id", "desc")
      .limit(3)
      .execute();
    const { failed } = await store
      .selectFrom("slack_outbox")
      .select((eb) => eb.fn.countAll<number>().as("failed"))
      .where("status", "=", "failed")
      .executeTakeFirstOrThrow();
    const waiting = Number(pending.n);
    const checks: Check[] = [];
    const age = pending.oldest === null ? 0 : now.getTime() - new Date(pending.oldest).getTime();
    if (age > STALE_MS)
      checks.push(
        warn(
          WHAT,
          `${waiting} deliveries waiting; the oldest for ${Math.round(age / 60_000)} minutes`,
          "Slack has been refusing or unreachable: see the bot's log (Slack delivery failed) and dbward_slack_api_errors_total",
        ),
      );
    if (Number(failed) > 0)
      checks.push(
        warn(
          WHAT,
          `${Number(failed)} deliveries given up on in the last 7 days; latest: ${failures
            .map((f) => `${f.lane} at ${f.updated_at}: ${f.last_error ?? "?"}`)
            .join("; ")}`,
          "a channel the app is not in, or a deactivated person: fix it; later changes redraw the request",
        ),
      );
    return checks.length > 0 ? checks : [ok(WHAT, `${waiting} deliveries waiting, none given up on`)];
  } catch (err) {
    return [warn(WHAT, `cannot read it: ${(err as Error).message}`, "see the state store check")];
  }
}
