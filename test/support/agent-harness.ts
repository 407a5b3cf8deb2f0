/**
 * Starts a real agent against a harness bot, with the bot's public key pinned and the agent
 * token the bot generated. Target databases are the real local PostgreSQL and MariaDB.
 */
import { join } from "node:path";
import { loadAgentConfig, startAgent, type AgentHandle, type AgentOptions } from "@dbward/agent";
import { base64url } from "@dbward/shared";
import { pino } from "pino";
import type { BotHarness } from "./bot-harness.ts";

export const PG_URL = "postgres://postgres@127.0.0.1:5432/test";
export const MARIADB_URL = "mysql://root@127.0.0.1:3306/test";

export interface AgentDb {
  name: string;
  environment: string;
  driver: "postgres" | "mysql" | "sqlite";
  url: string;
  operations: string[];
}

export const DEFAULT_AGENT_DBS: AgentDb[] = [
  { name: "shop", environment: "production", driver: "postgres", url: PG_URL, operations: ["read", "write"] },
  { name: "shop", environment: "staging", driver: "postgres", url: PG_URL, operations: ["read", "write"] },
  {
    name: "legacy",
    environment: "production",
    driver: "mysql",
    url: MARIADB_URL,
    operations: ["read", "write"],
  },
];

export async function startTestAgent(
  h: BotHarness,
  id = "agent-1",
  dbs: AgentDb[] = DEFAULT_AGENT_DBS,
  options: AgentOptions = {},
  /** Key id → base64url public key to pin (default: the bot's current key). */
  keys: Readonly<Record<string, string>> = { [h.bot.signingKey.kid]: base64url(h.bot.signingKey.publicKey) },
  /** The agent token (default: the one the bot printed at its first start). */
  agentToken = h.agentTokens[id] ?? "",
  /** The agent's data directory (default: `<bot test dir>/<id>`). */
  dataDir = join(h.dataDir, id),
): Promise<AgentHandle> {
  const env: Record<string, string> = { DBWARD_AGENT_TOKEN: agentToken };
  const lines = [
    `id: ${id}`,
    `bot_url: ${h.url}`,
    "keys:",
    ...Object.entries(keys).map(([kid, publicKey]) => `  ${kid}: ${publicKey}`),
    `data_dir: ${dataDir}`,
    "poll_wait_ms: 2000",
    "databases:",
  ];
  dbs.forEach((d, i) => {
    env[`DB_URL_${i}`] = d.url;
    lines.push(
      `  - { name: ${d.name}, environment: ${d.environment}, driver: ${d.driver}, url_env: DB_URL_${i}, operations: [${d.operations.join(", ")}] }`,
    );
  });
  return startAgent(loadAgentConfig(lines.join("\n"), env, `${id} config`), {
    logger: pino({ level: "silent" }),
    ...options,
  });
}
