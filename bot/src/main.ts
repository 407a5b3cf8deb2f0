/**
 * The bot's composition root: the only place that builds the store, the key, the use-case
 * context and the HTTP server, and wires them together.
 */
import type { AddressInfo } from "node:net";
import { rmSync } from "node:fs";
import { join } from "node:path";
import { initSqlReview, type Signer, type SqlDialect } from "@dbward/shared";
import type { Logger } from "pino";
import { appendAudit } from "./audit/audit-log.ts";
import { bootstrapTokens, type BootstrapSecret } from "./bootstrap-tokens.ts";
import type { BotConfig } from "./config/bot-config.ts";
import { systemClock, systemRandom, type Clock, type Random } from "./core/clock.ts";
import { createApp, type AppOptions } from "./http/create-app.ts";
import { createHttpServer, listen as listenHttp } from "./http/http-server.ts";
import { parseMonitoringToken } from "./http/monitoring-auth.ts";
import { requestIdOf } from "./http/request-log.ts";
import { loggedPath } from "./http/step-up-routes.ts";
import { OidcVerifier } from "./identity/oidc-verifier.ts";
import { syncConfigUsers } from "./identity/users.ts";
import { openSigners, type BotSigners } from "./keys/open-signers.ts";
import { ensureDataDir } from "./keys/signing-key-file.ts";
import { recordSigningKeys } from "./keys/signing-key-history.ts";
import { recordSqlTrust } from "./use-cases/record-sql-trust.ts";
import { createRateLimits } from "./limits/rate-limits.ts";
import { openResultStore } from "./results/open-result-store.ts";
import { createBotMetrics, type BotMetrics } from "./metrics/bot-metrics.ts";
import type { SlackAdapter, SlackOptions } from "./slack/mount-slack.ts";
import { parseSlackSettings } from "./slack/slack-settings.ts";
import { deliveriesForChange, route } from "./slack/delivery.ts";
import { enqueueDeliveries, storeSlackOutbox } from "./store/slack-outbox-repo.ts";
import { isFirstDelivery } from "./store/slack-inbound-repo.ts";
import { openCoordination, type Coordination } from "./store/coordination.ts";
import { startLeaderJobs } from "./leader-jobs.ts";
import { storeMessageRefs } from "./store/slack-message-refs.ts";
import { inTransaction } from "./store/in-transaction.ts";
import type { Store } from "./store/open-store.ts";
import { retiredKeyWarning } from "./crypto/key-encryption-key.ts";
import { openStateStore, storeEngine } from "./store/open-state-store.ts";
import type { BotContext, RequestChange } from "./use-cases/bot-context.ts";
import { JobSignal } from "./use-cases/job-signal.ts";
import { assertWebhookSecrets } from "./webhooks/webhook-dispatcher.ts";

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
  /** Slack adapter knobs; Slack itself is on when SLACK_SIGNING_SECRET and SLACK_BOT_TOKEN are set. */
  readonly slack?: SlackOptions;
}

export interface RunningBot {
  readonly url: string;
  readonly ctx: BotContext;
  readonly store: Store;
  /** The key execution tokens are signed with: what agents pin. */
  readonly signingKey: Signer<"tokens">;
  /** The key audit checkpoints are signed with: what `audit verify` trusts. */
  readonly checkpointSigner: Signer<"checkpoints">;
  /** The Slack adapter, when Slack is configured. */
  readonly slack: SlackAdapter | undefined;
  /** Prometheus metrics; the Slack and webhook adapters increment their failure counters. */
  readonly metrics: BotMetrics;
  /** Swaps in a new config; an invalid one throws and the running config stays. */
  reload(config: BotConfig): Promise<void>;
  /** Secrets generated at this start, to show the operator once. */
  readonly bootstrapSecrets: readonly BootstrapSecret[];
  close(): Promise<void>;
}

export async function startBot(o: StartBotOptions): Promise<RunningBot> {
  const clock = o.clock ?? systemClock;
  const random = o.random ?? systemRandom;
  const slackSettings = parseSlackSettings(o.env, o.config.slack?.mode);
  const monitoringToken = parseMonitoringToken(o.env);
  assertWebhookSecrets(o.config, o.env);
  // Only the parsers its databases need: node-sql-parser alone is a good part of a start.
  await initSqlReview(dialectsOf(o.config));
  ensureDataDir(o.dataDir);
  const store = await openStateStore({
    dataDir: o.dataDir,
    state: o.config.state,
    env: o.env,
    onIdleError: (err) => o.logger.warn({ err }, "a state store connection failed; the pool replaces it"),
  });
  const retiredKey = retiredKeyWarning(o.env);
  if (retiredKey !== undefined) o.logger.warn(retiredKey);
  // A start that fails after this must not leave PostgreSQL connections holding the process open.
  let coordination: Coordination | undefined;
  let signers: BotSigners | undefined;
  try {
    // After the store is open: a key generated by a start that then cannot reach the state would
    // pass for the shared one at the next start (recordSigningKeys refuses only a key made now).
    signers = await openSigners(o.config.signing, { dataDir: o.dataDir, env: o.env, now: clock.now() });
    coordination = await openCoordination({
      store,
      state: o.config.state,
      env: o.env,
      onError: (err, message) => o.logger.error({ err }, message),
      onLeaderChange: (job, leading) =>
        o.logger.info(
          { job },
          leading ? "this instance leads a periodic job" : "this instance stopped leading a job",
        ),
    });
    const parts = { clock, random, slackSettings, monitoringToken, signers, coordination };
    return await startOnStore(o, store, parts);
  } catch (err) {
    signers?.close();
    await coordination?.close().catch(() => undefined);
    await store.destroy().catch(() => undefined);
    throw err;
  }
}

interface StartParts {
  readonly clock: Clock;
  readonly random: Random;
  readonly slackSettings: ReturnType<typeof parseSlackSettings>;
  readonly monitoringToken: ReturnType<typeof parseMonitoringToken>;
  readonly signers: BotSigners;
  readonly coordination: Coordination;
}

async function startOnStore(o: StartBotOptions, store: Store, p: StartParts): Promise<RunningBot> {
  const { clock, random, slackSettings, monitoringToken, signers, coordination } = p;
  const key = signers.tokens.signer;
  const checkpointSigner = signers.checkpoints.signer;
  const keyChange = await recordSigningKeys(
    store,
    signers,
    clock.now(),
    storeEngine(store) === "postgres",
  ).catch((err: unknown) => {
    // A key generated for nothing must not stay: the next start would take it as the shared one.
    for (const file of signers.createdFiles) rmSync(file, { force: true });
    throw err;
  });
  if (keyChange.tokens === "key.changed")
    o.logger.warn({ kid: key.kid }, "the signing key changed since the last start");
  if (keyChange.checkpoints === "key.changed")
    o.logger.warn({ kid: checkpointSigner.kid }, "the checkpoint signing key changed since the last start");
  await syncConfigUsers(store, o.config.users, clock);
  await recordSqlTrust(store, o.config, clock.now());
  let current = o.config;
  const shutdown = new AbortController();
  const listeners: ((c: RequestChange) => void)[] = o.onChange ? [o.onChange] : [];
  const limits = createRateLimits(
    store,
    () => current,
    () => clock.now().getTime(),
  );
  const ctx: BotContext = {
    store,
    config: () => current,
    clock,
    startedAt: clock.now(),
    random,
    signingKey: key,
    checkpointSigner,
    jobs: new JobSignal(() => coordination.bus.publish("jobs")),
    results: openResultStore(store, o.config.results.dir, join(o.dataDir, "results")),
    shutdown: shutdown.signal,
    limits,
    oidc: new OidcVerifier(() => current.oidc, clock),
    // The Slack side of a change is written with it (SECURITY.md: nothing queued for a person is
    // lost); without a Slack token there is nobody to deliver it.
    recordChange: async (tx, change) => {
      if (slackSettings === undefined) return;
      await enqueueDeliveries(tx, deliveriesForChange(change).map(route), clock.now());
    },
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
  const metrics = createBotMetrics(
    ctx,
    (err) => o.logger.error({ err }, "metrics could not read the store"),
    () => coordination.leadership.leading(),
  );
  listeners.push((change) => metrics.onChange(change));
  coordination.bus.subscribe("jobs", () => ctx.jobs.wake());
  listeners.push(() => coordination.bus.publish("changes"));
  // Before the port is ours, as the webhook dispatcher always started: on SQLite a job that cannot
  // start fails this start before anything listens.
  await startLeaderJobs(ctx, coordination, {
    logger: o.logger,
    sweepIntervalMs: o.sweepIntervalMs ?? 1000,
    webhooks: {
      env: o.env,
      onError: (err, message) => o.logger.error({ err }, message),
      onGaveUp: (reason) => metrics.webhookFailures.inc({ reason }),
    },
  });
  // Bolt and the Slack adapter load only when Slack is configured: they are most of what a
  // start costs, and an API-only bot never needs them.
  const slack =
    slackSettings &&
    (await import("./slack/mount-slack.ts")).createSlackAdapter(
      ctx,
      slackSettings,
      o.logger,
      {
        rows: storeSlackOutbox(store),
        add: async (deliveries) => {
          await enqueueDeliveries(store, deliveries.map(route), clock.now());
        },
      },
      {
        messageRefs: storeMessageRefs(store),
        ...o.slack,
        onCallFailed: (method, code) => metrics.slackApiErrors.inc({ method, code }),
        onDeliveryGaveUp: (kind, code) => metrics.slackDeliveriesGivenUp.inc({ kind, code }),
        isFirstDelivery: (identity) => isFirstDelivery(store, identity, clock.now()),
      },
    );
  if (slack === undefined) o.logger.info("Slack is not configured (no SLACK_BOT_TOKEN): API only");
  else {
    listeners.push((change) => slack.onChange(change));
    if (o.config.slack === undefined)
      o.logger.warn("no slack.approvals_channel in the config: approval posts are not sent");
  }
  const app = createApp(ctx, {
    ...o.app,
    beforeJson: (express) => {
      slack?.mount(express);
      o.app?.beforeJson?.(express);
    },
    onError: (err, req) =>
      o.logger.error({ err, path: loggedPath(req.path), req_id: requestIdOf(req) }, "request failed"),
    ops: { logger: o.logger, metrics, limits, monitoringToken },
  });
  const listen = o.listen ?? o.config.listen;
  const server = await listenHttp(createHttpServer(app, o.config.http), listen.host, listen.port);
  const closeServer = (): Promise<void> => new Promise<void>((resolve) => server.close(() => resolve()));
  // Socket Mode connects out now; a token Slack refuses stops this start.
  await slack?.start().catch(async (err: unknown) => {
    await slack.close();
    await closeServer();
    throw err;
  });
  // Only once the port is ours: a start that fails before this must not commit tokens it never
  // gets to print; the start that first listens generates and prints them.
  const bootstrapSecrets = await bootstrapTokens(store, o.config, o.env, { clock, random }).catch(
    async (err: unknown) => {
      await slack?.close();
      await closeServer();
      throw err;
    },
  );
  const { port } = server.address() as AddressInfo;
  const host = listen.host.includes(":") ? `[${listen.host}]` : listen.host;
  o.logger.info(
    { url: `http://${host}:${port}`, kid: key.kid, checkpoint_kid: checkpointSigner.kid },
    "dbward bot listening",
  );
  let reloading: Promise<void> = Promise.resolve();
  const applyConfig = async (config: BotConfig): Promise<void> => {
    assertWebhookSecrets(config, o.env);
    // Before the config is current: a database of a new dialect must be reviewable at once.
    await initSqlReview(dialectsOf(config));
    await syncConfigUsers(store, config.users, clock);
    await recordSqlTrust(store, config, clock.now());
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
  };
  return {
    url: `http://${host}:${port}`,
    ctx,
    store,
    signingKey: key,
    checkpointSigner,
    slack,
    metrics,
    bootstrapSecrets,
    // One reload at a time, in the order they were asked for: a reload that waits on a parser
    // or a user sync must not finish after a later one and put the older config back.
    reload: (config) => {
      const next = reloading.catch(() => undefined).then(() => applyConfig(config));
      reloading = next;
      return next;
    },
    close: async () => {
      shutdown.abort();
      // Let handlers woken by the abort return before the store goes away.
      await new Promise((resolve) => setImmediate(resolve));
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await slack?.close();
      await coordination.close();
      await store.destroy();
      signers.close();
    },
  };
}

const dialectsOf = (config: BotConfig): SqlDialect[] => config.databases.map((d) => d.dialect);
