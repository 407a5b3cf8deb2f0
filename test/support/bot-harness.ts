/**
 * Starts a real bot (real SQLite file in a temp directory, real HTTP on loopback) for tests, with
 * an admin token and API tokens for the users a test names.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { dropStateDatabase, ensureStateDatabase, stateOnPostgres } from "./postgres-state.ts";
import { parseBotConfig, startBot, type RunningBot, type StartBotOptions } from "@dbward/bot";
import { pino } from "pino";

export const TEST_CONFIG = `
databases:
  - name: shop
    dialect: postgres
    environments: [production, staging]
  - name: legacy
    dialect: mysql
    environments: [production]
  - name: demo
    dialect: sqlite
    environments: [local]
workflows:
  - name: reads-auto
    operations: [read]
    auto_approve: always
  - name: writes-one-approver
    database: "*"
    environment: "*"
    operations: [write]
    steps:
      - approvers: ["role:approver"]
  - name: shop-prod-writes
    database: shop
    environment: production
    operations: [write, ddl]
    steps:
      - approvers: ["role:approver"]
        min: 2
users:
  - { id: alice, name: Alice, roles: [requester] }
  - { id: bob, name: Bob, roles: [approver] }
  - { id: carol, name: Carol, roles: [approver] }
  - { id: dave, name: Dave, roles: [requester, approver] }
  - { id: olga, name: Olga, roles: [operator] }
  - { id: root, name: Root, roles: [admin] }
agents:
  - id: agent-1
  - id: agent-2
execution:
  dispatch_timeout_ms: 60000
`;

export interface BotHarness {
  readonly bot: RunningBot;
  readonly url: string;
  readonly dataDir: string;
  readonly adminToken: string;
  readonly agentTokens: Readonly<Record<string, string>>;
  /** An API token for a configured user, created through the admin API. */
  tokenFor(user: string): Promise<string>;
  call(
    token: string,
    method: string,
    path: string,
    body?: unknown,
  ): Promise<{ status: number; body: unknown }>;
  stop(): Promise<void>;
}

export async function startBotHarness(
  configText = TEST_CONFIG,
  opts: {
    dataDir?: string;
    sweepIntervalMs?: number;
    /** Turns Slack on: its environment variables (see test/support/fake-slack.ts) and adapter knobs. */
    slack?: { env: Record<string, string>; options?: StartBotOptions["slack"] };
    /** More environment for the bot (DBWARD_METRICS_TOKEN, bootstrap tokens). */
    env?: Record<string, string>;
    /** Where the bot logs; silent when absent. */
    logger?: StartBotOptions["logger"];
    /** Hears every committed request change, as the Slack and webhook adapters do. */
    onChange?: StartBotOptions["onChange"];
    /** The bot's clock (tests that move time by hand). */
    clock?: StartBotOptions["clock"];
  } = {},
): Promise<BotHarness> {
  const dataDir = opts.dataDir ?? mkdtempSync(join(tmpdir(), "dbward-test-"));
  const config = parseBotConfig(configText);
  const state = stateOnPostgres() ? { url: await ensureStateDatabase(dataDir), pool_size: 4 } : config.state;
  const bot = await startBot({
    config: { ...config, state },
    dataDir: join(dataDir, "bot"),
    env: { ...opts.env, ...opts.slack?.env },
    ...(opts.slack?.options !== undefined ? { slack: opts.slack.options } : {}),
    // DBWARD_TEST_LOG=error shows what a bot under test logs (silent otherwise).
    logger: opts.logger ?? pino({ level: process.env.DBWARD_TEST_LOG ?? "silent" }),
    listen: { host: "127.0.0.1", port: 0 },
    ...(opts.sweepIntervalMs !== undefined ? { sweepIntervalMs: opts.sweepIntervalMs } : {}),
    ...(opts.onChange !== undefined ? { onChange: opts.onChange } : {}),
    ...(opts.clock !== undefined ? { clock: opts.clock } : {}),
  });
  // A restart on the same data dir prints no secrets: the tokens then come from the environment.
  const admin =
    bot.bootstrapSecrets.find((s) => s.kind === "user") ??
    (opts.env?.DBWARD_ADMIN_TOKEN !== undefined ? { secret: opts.env.DBWARD_ADMIN_TOKEN } : undefined);
  if (admin === undefined) throw new Error("test config has no admin");
  const agentTokens = Object.fromEntries(
    bot.bootstrapSecrets.filter((s) => s.kind === "agent").map((s) => [s.subject, s.secret]),
  );
  const call: BotHarness["call"] = async (token, method, path, body) => {
    const res = await fetch(`${bot.url}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${token}`,
        ...(body !== undefined ? { "content-type": "application/json" } : {}),
      },
      ...(body !== undefined ? { body: typeof body === "string" ? body : JSON.stringify(body) } : {}),
    });
    const text = await res.text();
    return { status: res.status, body: text === "" ? undefined : (JSON.parse(text) as unknown) };
  };
  const tokens = new Map<string, string>();
  return {
    bot,
    url: bot.url,
    dataDir,
    adminToken: admin.secret,
    agentTokens,
    call,
    async tokenFor(user) {
      const known = tokens.get(user);
      if (known !== undefined) return known;
      const res = await call(admin.secret, "POST", "/api/tokens", { user, name: "test" });
      if (res.status !== 201) throw new Error(`token for ${user}: ${JSON.stringify(res.body)}`);
      const token = (res.body as { token: string }).token;
      tokens.set(user, token);
      return token;
    },
    async stop() {
      await bot.close();
      if (opts.dataDir === undefined) {
        rmSync(dataDir, { recursive: true, force: true });
        if (stateOnPostgres()) await dropStateDatabase(dataDir);
      }
    },
  };
}
