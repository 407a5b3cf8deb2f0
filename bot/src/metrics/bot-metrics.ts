/**
 * The bot's Prometheus metrics (docs/operations.md lists them with the alerts worth setting), on
 * a Registry of their own: never prom-client's global one, so several bots in one process (tests,
 * the demo) do not collide. Two kinds:
 * - state, read from the store at scrape time (store-snapshot.ts): requests by status,
 *   executions by status, queue depth, agents by status, audit chain length;
 * - events, counted in this process since it started: approval decisions and execution durations
 *   (fed from committed changes), HTTP calls, rate-limit refusals, authentication failures, and
 *   webhook and Slack API failures, whose counters the webhook and Slack adapters increment.
 * Plus prom-client's default `process_*` and `nodejs_*` metrics, less the ones that break the
 * Prometheus naming rules; the scrape passes `promtool check metrics` (test/ops-metrics-promtool.test.ts).
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";
import { LEADER_JOBS, type LeaderJobName } from "../store/postgres-locks.ts";
import type { BotContext, RequestChange } from "../use-cases/bot-context.ts";
import { readStoreSnapshot } from "./store-snapshot.ts";

export interface BotMetrics {
  readonly registry: Registry;
  readonly contentType: string;
  /** Webhook deliveries that failed for good (after retries), by reason (`timeout`, `http_500`, `ssrf`). */
  readonly webhookFailures: Counter<"reason">;
  /** Slack Web API calls that failed, by method and Slack's error code (`ratelimited`, `network`). */
  readonly slackApiErrors: Counter<"method" | "code">;
  /** Slack outbox deliveries given up on (after retries, or at once), by kind and the last error. */
  readonly slackDeliveriesGivenUp: Counter<"kind" | "code">;
  readonly httpRequests: Counter<"method" | "route" | "status">;
  readonly rateLimited: Counter<"limit">;
  readonly authFailures: Counter<"code">;
  readonly approvalDecisions: Counter<"decision">;
  readonly executionDuration: Histogram<"outcome">;
  /** Feeds the event metrics from a committed change; main.ts registers it as an afterCommit listener. */
  onChange(change: RequestChange): void;
  /** Reads the store's numbers and renders everything in the Prometheus text format. */
  render(): Promise<string>;
}

type Ctx = Pick<BotContext, "store" | "config" | "clock">;

/** How many finished executions are remembered so a repeated result is not observed twice. */
const OBSERVED_MEMORY = 1000;

/**
 * A registry holding prom-client's default metrics, without its gauges named `…_total`
 * (`nodejs_active_handles_total`, `nodejs_active_requests_total`, `nodejs_active_resources_total`):
 * `_total` marks a counter in the Prometheus naming rules, and promtool rejects a gauge so named.
 * Nothing is lost: each is the sum of the per-type gauge beside it (`sum(nodejs_active_handles)`).
 */
function defaultMetricsRegistry(): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  for (const metric of registry.getMetricsAsArray())
    if (!(metric instanceof Counter) && metric.name.endsWith("_total"))
      registry.removeSingleMetric(metric.name);
  return registry;
}

export function createBotMetrics(
  ctx: Ctx,
  onError: (err: unknown) => void,
  /** The periodic jobs this instance leads now (store/leadership.ts). */
  leading: () => readonly LeaderJobName[] = () => LEADER_JOBS,
): BotMetrics {
  const registry = defaultMetricsRegistry();
  const counter = <L extends string>(name: string, help: string, labelNames: readonly L[]) =>
    new Counter<L>({ name, help, labelNames, registers: [registry] });
  const gauge = <L extends string>(name: string, help: string, labelNames: readonly L[] = []) =>
    new Gauge<L>({ name, help, labelNames, registers: [registry] });

  const requests = gauge("dbward_requests", "Requests in the store, by status.", ["status"]);
  const executions = gauge("dbward_executions", "Executions in the store, by status (outcome).", ["status"]);
  const queueDepth = gauge("dbward_queue_depth", "Requests approved or dispatched, waiting for an agent.");
  const agents = gauge("dbward_agents", "Configured agents by status (busy, connected, stale, never_seen).", [
    "status",
  ]);
  const agentsConnected = gauge(
    "dbward_agents_connected",
    "Configured agents seen recently or running a job.",
  );
  const auditLength = gauge("dbward_audit_chain_length", "Sequence number of the newest audit event.");
  const outboxPending = gauge("dbward_slack_outbox_pending", "Slack deliveries waiting in the outbox.");
  const outboxFailed = gauge(
    "dbward_slack_outbox_failed",
    "Slack deliveries given up on and still kept in the outbox (7 days).",
  );
  const outboxOldest = gauge(
    "dbward_slack_outbox_oldest_pending_seconds",
    "Age of the oldest Slack delivery still waiting (0 when none waits).",
  );
  // Per instance: with several instances on one PostgreSQL state, each job's series is 1 on exactly
  // one of them (the store gauges above are the same on every instance: take max, not sum).
  const leader = gauge("dbward_leader", "1 for each periodic job this instance runs now, else 0.", ["job"]);
  const storeUp = gauge("dbward_store_up", "1 when the last scrape could read the state store, else 0.");
  const executionDuration = new Histogram<"outcome">({
    name: "dbward_execution_duration_seconds",
    help: "How long executions took on the agent, by outcome, as the agent reported it.",
    labelNames: ["outcome"],
    buckets: [0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300, 1800],
    registers: [registry],
  });
  const approvalDecisions = counter("dbward_approval_decisions_total", "Approvals and rejections recorded.", [
    "decision",
  ]);
  const observed = new Set<string>();

  const observeExecution = async (requestId: number): Promise<void> => {
    const exe = await ctx.store
      .selectFrom("executions")
      .select(["id", "status", "duration_ms"])
      .where("request_id", "=", requestId)
      .where("finished_at", "is not", null)
      .orderBy("number", "desc")
      .limit(1)
      .executeTakeFirst();
    if (exe?.duration_ms == null || observed.has(exe.id)) return;
    observed.add(exe.id);
    if (observed.size > OBSERVED_MEMORY) observed.delete(observed.values().next().value ?? "");
    executionDuration.observe({ outcome: exe.status }, exe.duration_ms / 1000);
  };

  return {
    registry,
    contentType: registry.contentType,
    webhookFailures: counter("dbward_webhook_failures_total", "Webhook deliveries that failed for good.", [
      "reason",
    ]),
    slackApiErrors: counter("dbward_slack_api_errors_total", "Slack Web API calls that failed.", [
      "method",
      "code",
    ]),
    slackDeliveriesGivenUp: counter(
      "dbward_slack_deliveries_given_up_total",
      "Slack outbox deliveries given up on.",
      ["kind", "code"],
    ),
    httpRequests: counter("dbward_http_requests_total", "HTTP calls answered, by route pattern and status.", [
      "method",
      "route",
      "status",
    ]),
    rateLimited: counter("dbward_rate_limited_total", "Calls refused by a rate limit (HTTP 429).", ["limit"]),
    authFailures: counter("dbward_auth_failures_total", "Failed authentications on the HTTP API.", ["code"]),
    approvalDecisions,
    executionDuration,
    onChange(change) {
      if (change.action === "request.approved") approvalDecisions.inc({ decision: "approved" });
      else if (change.action === "request.rejected") approvalDecisions.inc({ decision: "rejected" });
      else if (change.action === "request.finished") observeExecution(change.requestId).catch(onError);
    },
    async render() {
      const led = new Set(leading());
      for (const job of LEADER_JOBS) leader.set({ job }, led.has(job) ? 1 : 0);
      try {
        const s = await readStoreSnapshot(ctx);
        for (const [status, n] of s.requests) requests.set({ status }, n);
        for (const [status, n] of s.executions) executions.set({ status }, n);
        for (const [status, n] of s.agents) agents.set({ status }, n);
        queueDepth.set(s.queueDepth);
        agentsConnected.set((s.agents.get("connected") ?? 0) + (s.agents.get("busy") ?? 0));
        auditLength.set(s.auditHead);
        const o = s.slackOutbox;
        outboxPending.set(o.pending);
        outboxFailed.set(o.failed);
        outboxOldest.set(
          o.oldestPendingAt === null
            ? 0
            : Math.max(0, (ctx.clock.now().getTime() - new Date(o.oldestPendingAt).getTime()) / 1000),
        );
        storeUp.set(1);
      } catch (err) {
        // The scrape still answers, with the last known state and store_up 0, so the alert fires.
        storeUp.set(0);
        onError(err);
      }
      return registry.metrics();
    },
  };
}
