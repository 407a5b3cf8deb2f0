/** `dbward agent`: run an agent until SIGINT/SIGTERM, then drain the running job. */
import { readFileSync } from "node:fs";
import { createAgentLogger, loadAgentConfig, startAgent } from "@dbward/agent";
import { CliError } from "../cli-error.ts";
import { EXIT } from "../exit-codes.ts";
import type { Output } from "../output.ts";
import { untilSignal } from "../until-signal.ts";

export async function runAgent(
  out: Output,
  env: Readonly<Record<string, string | undefined>>,
  args: { config: string },
): Promise<void> {
  let text: string;
  try {
    text = readFileSync(args.config, "utf8");
  } catch (err) {
    throw new CliError(`cannot read the agent config ${args.config}: ${(err as Error).message}`, EXIT.usage);
  }
  const config = loadAgentConfig(text, env, args.config);
  const agent = await startAgent(config, { logger: createAgentLogger() });
  out.error(
    `dbward agent ${config.id} polling ${config.botUrl} for ${config.databases.map((d) => `${d.name}/${d.environment}`).join(", ")}`,
  );
  await Promise.race([untilSignal(), agent.done]);
  await agent.stop();
}
