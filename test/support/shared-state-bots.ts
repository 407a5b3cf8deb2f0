/**
 * Several bot instances in one test process on one PostgreSQL state (issue 14), whatever
 * DBWARD_TEST_STATE says: each `start()` is another `startBot` with the same config and data
 * directory (so the same signing key, as the HA docs require) on the same state database. The
 * admin token comes from the environment, so every instance, and an instance started again,
 * knows it.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startBotHarness, type BotHarness } from "./bot-harness.ts";
import { dropStateDatabase, ensureStateDatabase } from "./postgres-state.ts";
import { token } from "./processes.ts";

export interface SharedState {
  /** Starts one more instance on the shared state. */
  start(o?: { slackEnv?: Record<string, string> }): Promise<BotHarness>;
  /** Stops every instance still running, drops the state database and the data directory. */
  stop(): Promise<void>;
}

export async function sharedPostgresState(configText: string): Promise<SharedState> {
  const root = mkdtempSync(join(tmpdir(), "dbward-shared-"));
  // The harness names a PostgreSQL state after the data directory: the same one here, both passes.
  const url = await ensureStateDatabase(root);
  const config = `${configText}\nstate: { url: "${url}" }\n`;
  const admin = token("dbw_");
  const running = new Set<BotHarness>();
  return {
    async start(o = {}) {
      const h = await startBotHarness(config, {
        dataDir: root,
        env: { DBWARD_ADMIN_TOKEN: admin },
        ...(o.slackEnv === undefined
          ? {}
          : {
              slack: { env: o.slackEnv, options: { retry: { attempts: 4, baseDelayMs: 5, maxDelayMs: 50 } } },
            }),
      });
      running.add(h);
      const stop = h.stop.bind(h);
      return {
        ...h,
        async stop() {
          running.delete(h);
          await stop();
        },
      };
    },
    async stop() {
      for (const h of [...running]) await h.stop();
      running.clear();
      await dropStateDatabase(root);
      rmSync(root, { recursive: true, force: true });
    },
  };
}
