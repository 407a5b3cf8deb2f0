/**
 * `dbward audit …`: verify the chain offline (read-only) from the bot's state — the SQLite file in
 * its data directory, or its PostgreSQL database (`--state-url`, DBWARD_STATE_URL) — or list events.
 */
import { visibleJson, type AuditListView } from "@dbward/shared";
import type { Argv } from "yargs";
import { clientFromFlags } from "../api-client.ts";
import { auditCheckpointCommand, auditExportCommand } from "./audit-export.ts";
import { CliError } from "../cli-error.ts";
import { EXIT } from "../exit-codes.ts";
import type { Output } from "../output.ts";
import { STATE_URL_ENV, stateSourceFrom, withState, type StateSource } from "../read-state.ts";

type Env = Readonly<Record<string, string | undefined>>;
type StoreVerdict =
  | { ok: true; count: number; lastHash: string; checkpoints: readonly number[] }
  | { ok: false; seq: number; message: string };

/** verifyState on the state file in `dataDir`. */
export function verifyDataDir(dataDir: string): Promise<StoreVerdict> {
  return verifyState({ dataDir }, {});
}

/**
 * The chain in the state, and every signed checkpoint stored beside it (their signatures with
 * the public keys the state recorded, and the event at each one's sequence with its hash).
 */
export function verifyState(source: StateSource, env: Env): Promise<StoreVerdict> {
  return withState(source, env, async (store) => {
    // Loaded here, not at import: `audit list` and `audit --help` need no store code.
    const { verifyStoreWithItsCheckpoints } = await import("@dbward/bot/audit/verify-export");
    const v = await verifyStoreWithItsCheckpoints(store);
    if (v.ok) return { ok: true, count: v.count, lastHash: v.lastHash, checkpoints: v.checkpoints };
    return "seq" in v
      ? { ok: false, seq: v.seq, message: `${v.reason}: ${v.message}` }
      : { ok: false, seq: 0, message: `${v.reason}: ${v.message}` };
  });
}

function describeStored(checkpoints: readonly number[]): string {
  const newest = checkpoints.at(-1);
  return newest === undefined
    ? "no stored signed checkpoint"
    : `${checkpoints.length} stored signed checkpoint(s), the newest at ${newest}`;
}

export function auditCommand(out: Output, env: Env) {
  return (y: Argv) =>
    y
      .command(
        "verify",
        "recompute every hash in the audit chain (offline, read-only)",
        (c) =>
          c
            .option("data-dir", {
              type: "string",
              default: env.DBWARD_DATA_DIR ?? ".dbward-data/bot",
              describe: "the bot's data directory",
            })
            .option("state-url", {
              type: "string",
              describe: `the bot's PostgreSQL state, postgres://USER@HOST/DB (or ${STATE_URL_ENV}); read-only`,
            })
            .option("checkpoint", {
              type: "string",
              array: true,
              describe: "a signed checkpoint file kept outside the bot",
            })
            .option("export", {
              type: "string",
              describe: "verify this NDJSON export (- for stdin) instead of --data-dir",
            })
            .option("public-key", {
              type: "string",
              array: true,
              describe: "the bot's public key: BASE64URL, KID:BASE64URL or a file",
            })
            .option("json", { type: "boolean", default: false }),
        async (a) => {
          if (a.checkpoint !== undefined || a.export !== undefined || a.publicKey !== undefined) {
            const signed = { checkpoint: a.checkpoint ?? [], publicKey: a.publicKey ?? [], export: a.export };
            const { verifySigned } = await import("./audit-verify-signed.ts");
            return verifySigned(out, env, { ...signed, state: stateSourceFrom(a, env), json: a.json });
          }
          const v = await verifyState(stateSourceFrom(a, env), env);
          if (a.json) out.print(JSON.stringify(v));
          if (!v.ok)
            throw new CliError(`audit chain BROKEN at sequence ${v.seq}: ${v.message}`, EXIT.auditBroken);
          if (!a.json)
            out.print(
              `audit chain verified: ${v.count} events (head ${v.lastHash.slice(0, 16)}…), against ${describeStored(v.checkpoints)}`,
            );
        },
      )
      .command(
        "list",
        "list audit events through the bot's API (needs the audit.read permission)",
        (c) =>
          c
            .option("url", { type: "string" })
            .option("token", { type: "string" })
            .option("after", {
              type: "number",
              default: 0,
              describe: "only events after this sequence number",
            })
            .option("limit", { type: "number", default: 100, describe: "events per page (1-1000)" })
            .option("all", {
              type: "boolean",
              default: false,
              describe: "every matching event, page after page",
            })
            .option("target", { type: "string", describe: "e.g. request:42" })
            .option("actor", { type: "string", describe: "e.g. user:alice, system, anonymous" })
            .option("action", { type: "string", describe: "e.g. token.revoked, or a prefix: 'auth.*'" })
            .option("since", { type: "string", describe: "from this time (ISO 8601, inclusive)" })
            .option("until", { type: "string", describe: "before this time (ISO 8601, exclusive)" })
            .option("json", {
              type: "boolean",
              default: false,
              describe: "one JSON event per line (NDJSON), for a SIEM",
            }),
        async (a) => {
          const client = clientFromFlags(env, a);
          const filters = {
            ...(a.target ? { target: a.target } : {}),
            ...(a.actor ? { actor: a.actor } : {}),
            ...(a.action ? { action: a.action } : {}),
            ...(a.since ? { since: a.since } : {}),
            ...(a.until ? { until: a.until } : {}),
          };
          for (let after = a.after; ;) {
            const q = new URLSearchParams({ after: String(after), limit: String(a.limit), ...filters });
            const { events } = await client.get<AuditListView>(`/api/audit?${q.toString()}`);
            for (const e of events) {
              out.print(
                a.json
                  ? visibleJson(e)
                  : `${String(e.seq).padStart(6)}  ${e.time}  ${e.outcome.padEnd(7)}  ${e.actor.padEnd(16)}  ${e.action.padEnd(28)}  ${e.target}`,
              );
            }
            const last = events.at(-1);
            if (!a.all || last === undefined || events.length < a.limit) break;
            after = last.seq;
          }
        },
      )
      .command(auditExportCommand(out, env))
      .command(auditCheckpointCommand(out, env))
      .demandCommand(1, "name an audit subcommand");
}
