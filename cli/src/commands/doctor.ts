/**
 * `dbward doctor --bot-config FILE | --agent-config FILE`: checks a config and what it points at,
 * prints one line per check with what to fix, and exits 1 when anything failed (warnings alone
 * exit 0). Reads the same environment the process would.
 */
import { CliError } from "../cli-error.ts";
import { checkAgent } from "../doctor/agent-doctor.ts";
import { checkBot } from "../doctor/bot-doctor.ts";
import { renderChecks, type Check } from "../doctor/check.ts";
import { EXIT } from "../exit-codes.ts";
import type { Output } from "../output.ts";

export interface DoctorArgs {
  readonly botConfig?: string | undefined;
  readonly agentConfig?: string | undefined;
  readonly dataDir?: string | undefined;
}

export async function runDoctor(
  out: Output,
  env: Readonly<Record<string, string | undefined>>,
  args: DoctorArgs,
): Promise<void> {
  if (args.botConfig === undefined && args.agentConfig === undefined)
    throw new CliError("name a config to check: --bot-config FILE or --agent-config FILE", EXIT.usage);
  const sections: [string, Check[]][] = [];
  if (args.botConfig !== undefined)
    sections.push([
      `bot config ${args.botConfig}`,
      await checkBot(args.botConfig, env, { dataDir: args.dataDir }),
    ]);
  if (args.agentConfig !== undefined)
    sections.push([`agent config ${args.agentConfig}`, await checkAgent(args.agentConfig, env)]);
  for (const [title, checks] of sections) {
    for (const line of renderChecks(`dbward doctor: ${title}`, checks)) out.print(line);
  }
  const failed = sections.flatMap(([, checks]) => checks).filter((c) => c.status === "fail").length;
  if (failed > 0)
    throw new CliError(`doctor found ${failed} problem${failed === 1 ? "" : "s"}`, EXIT.failure);
}
