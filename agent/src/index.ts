/**
 * What the CLI (`dbward agent --config FILE`) and the cross-process tests use: load the config,
 * start the agent, stop it on a signal.
 */
export { startAgent, type AgentHandle, type AgentOptions } from "./agent.ts";
export { BotError, createBotClient, type BotClient, type BotClientOptions } from "./bot-client.ts";
export { systemClock, type Clock } from "./clock.ts";
export {
  DEFAULT_TOKEN_ENV,
  loadAgentConfig,
  type AgentConfig,
  type DatabaseConfig,
  type DriverName,
} from "./config.ts";
export type { Driver, ExecuteOptions, ExecuteResult } from "./drivers/driver.ts";
export { createDriver, type DriverFactory } from "./drivers/registry.ts";
export { checkJob, runJob, type JobCheck, type JobRunnerDeps } from "./job-runner.ts";
export { LEDGER_FILE, openLedger, type Ledger } from "./ledger.ts";
export { createAgentLogger } from "./log.ts";
export { Secret } from "./secret.ts";
