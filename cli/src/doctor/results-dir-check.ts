/**
 * Doctor's results directory check: `results.dir`, or `<data dir>/results`. Result files hold the
 * rows a query returned, which may be anything in the production database, so the directory must
 * be the bot's alone; the bot creates it (0700) at the first result, so a missing one that can be
 * created is fine, and a result that cannot be written fails its request.
 */
import { accessSync, constants, existsSync, statSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import type { BotConfig } from "@dbward/bot";
import { fail, modeText, ok, warn, type Check } from "./check.ts";

const WHAT = "results directory";

/** Where the bot keeps result files, as startBot decides it. */
export function resultsDir(config: BotConfig, dataDir: string): string {
  return resolve(config.results.dir ?? join(dataDir, "results"));
}

/**
 * The results directory check, or — on PostgreSQL state without `results.dir`, where results are
 * stored in the state's `result_chunks` (open-result-store.ts) — a line saying there is none.
 */
export function checkResults(config: BotConfig, dataDir: string): Check[] {
  if (config.state.url !== undefined && config.results.dir === undefined)
    return [
      ok(
        WHAT,
        "none: results live in the PostgreSQL state (result_chunks); set results.dir to keep them in a shared directory instead",
      ),
    ];
  return checkResultsDir(resultsDir(config, dataDir));
}

export function checkResultsDir(dir: string): Check[] {
  if (!existsSync(dir)) {
    let parent = dirname(dir);
    while (!existsSync(parent) && dirname(parent) !== parent) parent = dirname(parent);
    return isWritable(parent)
      ? [ok(WHAT, `${dir} does not exist yet; the bot creates it with mode 0700`)]
      : [
          fail(
            WHAT,
            `${dir} does not exist and ${parent} is not writable: no result could be stored`,
            `create ${dir} (mode 0700) owned by the bot's user, or set results.dir`,
          ),
        ];
  }
  const st = statSync(dir);
  if (!st.isDirectory()) return [fail(WHAT, `${dir} is not a directory`, "point results.dir at a directory")];
  const checks: Check[] = [];
  if (!isWritable(dir))
    checks.push(
      fail(
        WHAT,
        `${dir} is not writable by this user: no result could be stored`,
        "chown it to the bot's user",
      ),
    );
  if ((st.mode & 0o007) !== 0)
    checks.push(
      fail(
        WHAT,
        `${dir} is mode ${modeText(st.mode)}: every user on this host can read query results`,
        `chmod 700 ${dir}`,
      ),
    );
  else if ((st.mode & 0o070) !== 0)
    checks.push(
      warn(WHAT, `${dir} is mode ${modeText(st.mode)}: its group can read query results`, `chmod 700 ${dir}`),
    );
  return checks.length > 0 ? checks : [ok(WHAT, `${dir}, mode ${modeText(st.mode)}, writable`)];
}

function isWritable(path: string): boolean {
  try {
    accessSync(path, constants.W_OK | constants.X_OK);
    return true;
  } catch {
    return false;
  }
}
