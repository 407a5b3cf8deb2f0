/**
 * `dbward demo`: the whole stack on one machine — a bot on the embedded SQLite state store, an
 * agent, and a small SQLite target database. Alice asks, Bob approves, the agent runs exactly
 * that SQL, and the demo prints the result, the audit trail and the verified chain.
 */
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { loadAgentConfig, startAgent, type AgentHandle } from "@dbward/agent";
import { parseBotConfig, startBot, type RunningBot } from "@dbward/bot";
import {
  base64url,
  type AuditListView,
  type CreatedTokenView,
  type RequestView,
  type ResultView,
} from "@dbward/shared";
import { pino } from "pino";
import { apiClient, type ApiClient } from "../api-client.ts";
import { CliError } from "../cli-error.ts";
import { EXIT } from "../exit-codes.ts";
import { formatRequest, formatResult } from "../format-request.ts";
import type { Output } from "../output.ts";
import { verifyDataDir } from "./audit.ts";
import { createDemoTarget } from "./demo-target.ts";
import { waitForFinal } from "./request.ts";

const BOT_CONFIG = `
databases:
  - { name: demo, dialect: sqlite, environments: [local], description: "sample shop data" }
workflows:
  - name: demo-needs-one-approval
    database: demo
    environment: local
    steps:
      - { name: on-call approver, approvers: ["role:approver"] }
users:
  - { id: alice, name: Alice, roles: [requester] }
  - { id: bob, name: Bob, roles: [approver] }
  - { id: root, name: Root, roles: [admin] }
agents:
  - id: demo-agent
`;

export const DEMO_SQL =
  "SELECT c.name, o.status, COUNT(*) AS orders, SUM(o.total_cents) / 100.0 AS total FROM orders o JOIN customers c ON c.id = o.customer_id GROUP BY c.name, o.status ORDER BY c.name, o.status";

export async function runDemo(out: Output, args: { dataDir?: string | undefined }): Promise<void> {
  const keep = args.dataDir !== undefined;
  const dir = keep ? resolve(args.dataDir as string) : mkdtempSync(join(tmpdir(), "dbward-demo-"));
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const targetFile = join(dir, "demo-target.sqlite");
  createDemoTarget(targetFile);
  const quiet = pino({ level: "warn" }, pino.destination(2));
  let bot: RunningBot | undefined;
  let agent: AgentHandle | undefined;
  try {
    bot = await startBot({
      config: parseBotConfig(BOT_CONFIG, "demo config"),
      dataDir: join(dir, "bot"),
      env: {},
      logger: quiet,
      listen: { host: "127.0.0.1", port: 0 },
    });
    out.print(`▶ bot listening on ${bot.url} (state: ${join(dir, "bot")})`);
    const secrets = new Map(bot.bootstrapSecrets.map((s) => [s.subject, s.secret]));
    const agentToken = secrets.get("demo-agent") ?? (await missingSecret("the agent"));
    const adminToken = secrets.get("root") ?? (await missingSecret("the admin"));
    const agentConfig = loadAgentConfig(
      [
        "id: demo-agent",
        `bot_url: ${bot.url}`,
        "keys:",
        `  ${bot.signingKey.kid}: ${base64url(bot.signingKey.publicKey)}`,
        `data_dir: ${join(dir, "agent")}`,
        "poll_wait_ms: 5000",
        "databases:",
        "  - { name: demo, environment: local, driver: sqlite, url_env: DEMO_DB_URL, operations: [read, write] }",
      ].join("\n"),
      { DBWARD_AGENT_TOKEN: agentToken, DEMO_DB_URL: targetFile },
      "demo agent config",
    );
    agent = await startAgent(agentConfig, { logger: quiet });
    out.print(
      `▶ agent demo-agent polling, pinned key ${bot.signingKey.kid}, holding the only credential for database demo`,
    );

    const admin = apiClient(bot.url, adminToken);
    const alice = apiClient(bot.url, await issueToken(admin, "alice"));
    const bob = apiClient(bot.url, await issueToken(admin, "bob"));

    out.print("\n▶ alice asks to run a query on demo/local");
    const created = await alice.post<RequestView>("/api/requests", {
      database: "demo",
      environment: "local",
      sql: DEMO_SQL,
      reason: "weekly order report",
    });
    out.print(indent(formatRequest(created)));

    out.print(`\n▶ alice tries to approve her own request #${created.id}`);
    await alice.post(`/api/requests/${created.id}/approve`, {}).then(
      () => {
        throw new CliError("self-approval was accepted; the demo stops here", EXIT.failure);
      },
      (err: unknown) => out.print(`  refused: ${(err as Error).message}`),
    );

    out.print(`\n▶ bob approves request #${created.id}`);
    await bob.post<RequestView>(`/api/requests/${created.id}/approve`, { comment: "looks fine" });
    const done = await waitForFinal(alice, created.id, 30_000);
    out.print(indent(formatRequest(done)));
    if (done.status !== "succeeded") throw new CliError(`the request ended ${done.status}`, EXIT.failure);

    out.print("\n▶ the result, as alice sees it");
    out.print(indent(formatResult(await alice.get<ResultView>(`/api/requests/${created.id}/result`))));

    out.print("\n▶ the audit trail");
    const { events } = await admin.get<AuditListView>("/api/audit?limit=1000");
    for (const e of events)
      out.print(
        `  ${String(e.seq).padStart(3)}  ${e.outcome.padEnd(7)}  ${e.actor.padEnd(17)}  ${e.action.padEnd(26)}  ${e.target}  ${e.hash.slice(0, 12)}…`,
      );
  } finally {
    await agent?.stop();
    await bot?.close();
  }
  const verdict = await verifyDataDir(join(dir, "bot"));
  if (!verdict.ok)
    throw new CliError(`audit chain BROKEN at sequence ${verdict.seq}: ${verdict.message}`, EXIT.auditBroken);
  out.print(`\naudit chain verified: ${verdict.count} events`);
  if (keep) out.print(`(state kept in ${dir}; run: dbward audit verify --data-dir ${join(dir, "bot")})`);
  else rmSync(dir, { recursive: true, force: true });
}

async function issueToken(admin: ApiClient, user: string): Promise<string> {
  const t = await admin.post<CreatedTokenView>("/api/tokens", { user, name: "demo" });
  return t.token;
}

function missingSecret(what: string): Promise<never> {
  return Promise.reject(
    new CliError(
      `the bot did not create a token for ${what}; is this data directory from an earlier run? use a fresh --data-dir`,
      EXIT.failure,
    ),
  );
}

function indent(text: string): string {
  return text
    .split("\n")
    .map((l) => `  ${l}`)
    .join("\n");
}
