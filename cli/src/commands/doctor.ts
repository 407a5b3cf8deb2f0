/**
 * `dbward doctor --bot-config FILE | --agent-config FILE`: checks a config and what it points at,
 * prints one line per check with what to fix (or, with `--json`, one JSON document of the same
 * checks), and exits 1 when anything failed (warnings alone exit 0). Reads the same environment
 * the process would.
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
  readonly json?: boolean;
}

/** `doctor --json`: every check of every config named, in the order they ran. */
export interface DoctorReport {
  readonly ok: boolean;
  readonly failed: number;
  readonly warned: number;
  readonly sections: readonly {
    readonly config: "bot" | "agent";
    readonly file: string;
    readonly checks: readonly {
      readonly name: string;
      readonly status: Check["status"];
      readonly message: string;
      readonly fix: string | null;
    }[];
  }[];
}

export async function runDoctor(
  out: Output,
  env: Readonly<Record<string, string | undefined>>,
  args: DoctorArgs,
): Promise<void> {
  if (args.botConfig === undefined && args.agentConfig === undefined)
    throw new CliError("name a config to check: --bot-config FILE or --agent-config FILE", EXIT.usage);
  const sections: Section[] = [];
  if (args.botConfig !== undefined)
    sections.push({
      config: "bot",
      file: args.botConfig,
      checks: await checkBot(args.botConfig, env, { dataDir: args.dataDir }),
    });
  if (args.agentConfig !== undefined)
    sections.push({
      config: "agent",
      file: args.agentConfig,
      checks: await checkAgent(args.agentConfig, env),
    });
  const all = sections.flatMap((s) => s.checks);
  const failed = all.filter((c) => c.status === "fail").length;
  if (args.json === true) {
    out.print(JSON.stringify(reportOf(sections, failed, all.filter((c) => c.status === "warn").length)));
  } else {
    for (const s of sections) {
      for (const line of renderChecks(`dbward doctor: ${s.config} config ${s.file}`, s.checks))
        out.print(line);
    }
  }
  if (failed > 0)
    throw new CliError(`doctor found ${failed} problem${failed === 1 ? "" : "s"}`, EXIT.failure);
}

interface Section {
  readonly config: "bot" | "agent";
  readonly file: string;
  readonly checks: readonly Check[];
}

function reportOf(sections: readonly Section[], failed: number, warned: number): DoctorReport {
  return {
    ok: failed === 0,
    failed,
    warned,
    sections: sections.map((s) => ({
      config: s.config,
      file: s.file,
      checks: s.checks.map((c) => ({
        name: c.what,
        status: c.status,
        message: c.detail,
        fix: c.status === "ok" ? null : (c.fix ?? null),
      })),
    })),
  };
}
