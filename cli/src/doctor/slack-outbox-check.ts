/**
 * Doctor's view of the Slack outbox (docs/slack.md, section 9): how many deliveries wait, how
 * long the oldest has waited, and the latest ones given up on, read from the state file. A
 * backlog or a failure is a warning, not a failure: the bot starts either way, and what waits is
 * sent once Slack takes it.
 */
import { existsSync } from "node:fs";
import Database from "better-sqlite3";
import { ok, warn, type Check } from "./check.ts";

const WHAT = "Slack outbox";
/** A delivery waiting longer than this means Slack has been refusing for a while. */
const STALE_MS = 15 * 60_000;

export function checkSlackOutbox(storeFile: string, now: Date = new Date()): Check[] {
  if (!existsSync(storeFile)) return [];
  let db: Database.Database | undefined;
  try {
    db = new Database(storeFile, { readonly: true, fileMustExist: true });
    const hasTable = db
      .prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'slack_outbox'")
      .get();
    if (hasTable === undefined) return [ok(WHAT, "empty (the bot creates it at its next start)")];
    const pending = db
      .prepare("SELECT COUNT(*) AS n, MIN(created_at) AS oldest FROM slack_outbox WHERE status = 'pending'")
      .get() as { n: number; oldest: string | null };
    const failures = db
      .prepare(
        "SELECT lane, last_error, updated_at FROM slack_outbox WHERE status = 'failed' ORDER BY id DESC LIMIT 3",
      )
      .all() as { lane: string; last_error: string | null; updated_at: string }[];
    const failed = (
      db.prepare("SELECT COUNT(*) AS n FROM slack_outbox WHERE status = 'failed'").get() as {
        n: number;
      }
    ).n;
    const checks: Check[] = [];
    const age = pending.oldest === null ? 0 : now.getTime() - new Date(pending.oldest).getTime();
    if (age > STALE_MS)
      checks.push(
        warn(
          WHAT,
          `${pending.n} deliveries waiting; the oldest for ${Math.round(age / 60_000)} minutes`,
          "Slack has been refusing or unreachable: see the bot's log (Slack delivery failed) and dbward_slack_api_errors_total",
        ),
      );
    if (failed > 0)
      checks.push(
        warn(
          WHAT,
          `${failed} deliveries given up on in the last 7 days; latest: ${failures
            .map((f) => `${f.lane} at ${f.updated_at}: ${f.last_error ?? "?"}`)
            .join("; ")}`,
          "a channel the app is not in, or a deactivated person: fix it; later changes redraw the request",
        ),
      );
    return checks.length > 0 ? checks : [ok(WHAT, `${pending.n} deliveries waiting, none given up on`)];
  } catch (err) {
    return [warn(WHAT, `cannot read it: ${(err as Error).message}`, "see the state store check")];
  } finally {
    db?.close();
  }
}
