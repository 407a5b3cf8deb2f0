/**
 * `dbward audit export` and `dbward audit checkpoint`: the audit chain as NDJSON (with its anchor
 * and newest signed checkpoint) and the newest checkpoint alone, either offline from the bot's
 * data directory (`--data-dir`) or PostgreSQL state (`--state-url`), read-only, or through the API (`--url`, `--token`; needs
 * `audit.read`, and the bot audits the export). See docs/audit.md.
 */
import { createInterface } from "node:readline";
import { Readable } from "node:stream";
import { isErrorCode, type SignedCheckpoint } from "@dbward/shared";
import type { Argv, CommandModule } from "yargs";
import { clientFromFlags } from "../api-client.ts";
import { loadSession } from "../credentials.ts";
import { CliError } from "../cli-error.ts";
import { withState, type StateSource } from "../read-state.ts";
import { EXIT, exitCodeFor } from "../exit-codes.ts";
import type { Output } from "../output.ts";
import { storedBearer } from "../session-token.ts";

type Env = Readonly<Record<string, string | undefined>>;
interface SourceFlags {
  readonly url?: string | undefined;
  readonly token?: string | undefined;
}

const sourceOptions = (y: Argv) =>
  y
    .option("data-dir", {
      type: "string",
      describe: "read the bot's data directory offline (read-only) instead of the API",
    })
    .option("state-url", {
      type: "string",
      describe:
        "read the bot's PostgreSQL state offline (read-only), postgres://USER@HOST/DB, instead of the API",
    })
    .option("url", { type: "string", describe: "the bot's URL (or DBWARD_URL)" })
    .option("token", { type: "string", describe: "an API token with audit.read (or DBWARD_TOKEN)" });

const exportBuilder = (y: Argv) =>
  sourceOptions(y).option("since", {
    type: "string",
    describe: "from this time (ISO 8601, or an age: 90d, 12h, 30m), rounded down to a signed checkpoint",
  });
type OptionsOf<B> = B extends (y: Argv) => Argv<infer U> ? U : never;
type ExportArgs = OptionsOf<typeof exportBuilder>;
type SourceArgs = OptionsOf<typeof sourceOptions>;

export function auditExportCommand(out: Output, env: Env): CommandModule<object, ExportArgs> {
  return {
    command: "export",
    describe: "print the audit chain as NDJSON with its signed checkpoint (for a SIEM or an auditor)",
    builder: exportBuilder,
    handler: async (a) => {
      const offline = offlineSource(a);
      if (offline !== undefined) {
        // The store's modules load only for an offline export: the API path needs none of them.
        const [{ exportAudit }, { parseSince }] = await Promise.all([
          import("@dbward/bot/audit/audit-export"),
          import("@dbward/bot/audit/parse-since"),
        ]);
        const since = a.since === undefined ? undefined : parseSince(a.since, new Date());
        await withState(offline, env, async (store) => {
          for await (const line of exportAudit(store, {
            now: new Date(),
            ...(since !== undefined ? { since } : {}),
          })) {
            out.print(line);
          }
        });
        return;
      }
      const q = a.since === undefined ? "" : `?${new URLSearchParams({ since: a.since }).toString()}`;
      for await (const line of streamLines(env, a, `/api/audit/export${q}`)) {
        out.print(line);
      }
    },
  };
}

export function auditCheckpointCommand(out: Output, env: Env): CommandModule<object, SourceArgs> {
  return {
    command: "checkpoint",
    describe:
      "print the newest signed checkpoint (keep it outside the bot; verify with audit verify --checkpoint)",
    builder: sourceOptions,
    handler: async (a) => {
      const offline = offlineSource(a);
      const cp =
        offline !== undefined
          ? await withState(offline, env, async (store) =>
              (await import("@dbward/bot/audit/audit-checkpoints")).latestCheckpoint(store),
            )
          : (
              await clientFromFlags(env, a).get<{
                checkpoint: SignedCheckpoint | null;
              }>("/api/audit/checkpoint")
            ).checkpoint;
      if (cp === undefined || cp === null) {
        throw new CliError(
          "there is no signed checkpoint yet; the bot signs one after its first events",
          EXIT.notFound,
        );
      }
      out.print(JSON.stringify(cp));
    },
  };
}

/** `--state-url` or `--data-dir` (not both), or undefined: through the API. */
function offlineSource(a: {
  readonly dataDir?: string | undefined;
  readonly stateUrl?: string | undefined;
}): StateSource | undefined {
  if (a.dataDir !== undefined && a.stateUrl !== undefined)
    throw new CliError("pass --data-dir or --state-url, not both", EXIT.usage);
  if (a.stateUrl !== undefined) return { stateUrl: a.stateUrl };
  return a.dataDir !== undefined ? { dataDir: a.dataDir } : undefined;
}

/** GETs an NDJSON endpoint and yields its lines as they arrive; flags as for every API command. */
async function* streamLines(env: Env, flags: SourceFlags, path: string): AsyncGenerator<string> {
  const url = flags.url ?? env.DBWARD_URL ?? loadSession(env, undefined)?.url;
  if (url === undefined || url === "")
    throw new CliError("no bot URL: pass --url or set DBWARD_URL", EXIT.usage);
  const token = flags.token ?? env.DBWARD_TOKEN ?? (await storedBearer(env, url));
  const base = url.replace(/\/+$/, "");
  let res: Response;
  try {
    res = await fetch(`${base}${path}`, { headers: { authorization: `Bearer ${token}` } });
  } catch (err) {
    throw new CliError(`cannot reach the bot at ${base}: ${(err as Error).message}`, EXIT.unreachable);
  }
  if (!res.ok || res.body === null) {
    const e = (
      (await res.json().catch(() => undefined)) as
        { error?: { code?: unknown; message?: unknown } } | undefined
    )?.error;
    const code = isErrorCode(e?.code) ? e.code : "internal";
    throw new CliError(
      `${typeof e?.message === "string" ? e.message : `HTTP ${res.status}`} (${code})`,
      exitCodeFor(code),
    );
  }
  const lines = createInterface({ input: Readable.fromWeb(res.body), crlfDelay: Infinity });
  for await (const line of lines) if (line !== "") yield line;
}
