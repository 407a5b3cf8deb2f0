/**
 * The bot's composition root: the only place that builds the store, the key, the use-case
 * context and the HTTP server, and wires them together.
 */
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import { initSqlReview, type SigningKey } from "@dbward/shared";
import type { Logger } from "pino";
import { appendAudit } from "./audit/audit-log.ts";
import { bootstrapTokens, type BootstrapSecret } from "./bootstrap-tokens.ts";
import type { BotConfig } from "./config/bot-config.ts";
import { systemClock, systemRandom, type Clock, type Random } from "./core/clock.ts";
import { createApp, type AppOptions } from "./http/create-app.ts";
import { syncConfigUsers } from "./identity/users.ts";
import { loadOrCreateSigningKey } from "./keys/signing-key-file.ts";
import { inTransaction } from "./store/in-transaction.ts";
import { openStore, type Store } from "./store/open-store.ts";
import type { BotContext, RequestChange } from "./use-cases/bot-context.ts";
import { JobSignal } from "./use-cases/job-signal.ts";
import { sweep } from "./use-cases/sweep.ts";

export interface StartBotOptions {
  readonly config: BotConfig;
  readonly dataDir: string;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly logger: Logger;
  readonly clock?: Clock;
  readonly random?: Random;
  /** Overrides config.listen (tests pass port 0). */
  readonly listen?: { host: string; port: number };
  readonly sweepIntervalMs?: number;
  readonly app?: AppOptions;
  readonly onChange?: (change: RequestChange) => void;
}

export interface RunningBot {
  readonly url: string;
  readonly ctx: BotContext;
  readonly store: Store;
  readonly signingKey: SigningKey;
  /** Swaps in a new config; an invalid one throws and the running config stays. */
  reload(config: BotConfig): Promise<void>;
  /** Secrets generated at this start, to show the operator once. */
  readonly bootstrapSecrets: readonly BootstrapSecret[];
  close(): Promise<void>;
}

export async function startBot(o: StartBotOptions): Promise<RunningBot> {
  const clock = o.clock ?? systemClock;
  const random = o.random ?? systemRandom;
  await initSqlReview();
  const { key, created } = loadOrCreateSigningKey(o.dataDir, clock.now());
  const store = openStore(o.dataDir);
  if (created) {
    await inTransaction(store, (tx) =>
      appendAudit(
        tx,
        {
          actor: "system",
          action: "key.created",
          target: `key:${key.kid}`,
          outcome: "success",
          details: { alg: "EdDSA" },
        },
        clock.now(),
      ),
    );
  }
  await syncConfigUsers(store, o.config.users, clock);
  const bootstrapSecrets = await bootstrapTokens(store, o.config, o.env, { clock, random });
  let current = o.config;
  const shutdown = new AbortController();
  const listeners: ((c: RequestChange) => void)[] = o.onChange ? [o.onChange] : [];
  const ctx: BotContext = {
    store,
    config: () => current,
    clock,
    random,
    signingKey: key,
    jobs: new JobSignal(),
    shutdown: shutdown.signal,
    // Side effects after commit must never undo or block the change itself.
    afterCommit: (change) => {
      for (const l of listeners) {
        try {
          l(change);
        } catch (err) {
          o.logger.error({ err, request: change.requestId }, "after-commit listener failed");
        }
      }
    },
  };
  const app = createApp(ctx, {
    ...o.app,
    onError: (err, req) => o.logger.error({ err, path: req.path }, "request failed"),
  });
  const listen = o.listen ?? o.config.listen;
  const server = await new Promise<Server>((resolve, reject) => {
    const s = app.listen(listen.port, listen.host, (err?: Error) => (err ? reject(err) : resolve(s)));
  });
  const sweeper = setInterval(() => {
    sweep(ctx).catch((err: unknown) => o.logger.error({ err }, "sweep failed"));
  }, o.sweepIntervalMs ?? 1000);
  sweeper.unref();
  const { port } = server.address() as AddressInfo;
  const host = listen.host.includes(":") ? `[${listen.host}]` : listen.host;
  o.logger.info({ url: `http://${host}:${port}`, kid: key.kid }, "dbward bot listening");
  return {
    url: `http://${host}:${port}`,
    ctx,
    store,
    signingKey: key,
    bootstrapSecrets,
    reload: async (config) => {
      await syncConfigUsers(store, config.users, clock);
      current = config;
      await inTransaction(store, (tx) =>
        appendAudit(
          tx,
          {
            actor: "system",
            action: "config.reloaded",
            target: "",
            outcome: "success",
            details: { workflows: config.workflows.map((w) => w.name) },
          },
          clock.now(),
        ),
      );
    },
    close: async () => {
      clearInterval(sweeper);
      shutdown.abort();
      // Let handlers woken by the abort return before the store goes away.
      await new Promise((resolve) => setImmediate(resolve));
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await store.destroy();
    },
  };
}
