/** `dbward audit …`: verify the chain offline from the bot's state file, or list events. */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { STORE_FILE, openStoreFile, verifyAuditStore } from "@dbward/bot";
import type { AuditListView } from "@dbward/shared";
import type { Argv } from "yargs";
import { apiClient } from "../api-client.ts";
import { CliError } from "../cli-error.ts";
import { EXIT } from "../exit-codes.ts";
import type { Output } from "../output.ts";

export async function verifyDataDir(
  dataDir: string,
): Promise<{ ok: true; count: number; lastHash: string } | { ok: false; seq: number; message: string }> {
  const file = join(dataDir, STORE_FILE);
  if (!existsSync(file))
    throw new CliError(
      `no dbward state at ${file}; point --data-dir at the bot's data directory`,
      EXIT.usage,
    );
  const store = openStoreFile(file, { readonly: true });
  try {
    const v = await verifyAuditStore(store);
    return v.ok
      ? { ok: true, count: v.count, lastHash: v.lastHash }
      : { ok: false, seq: v.seq, message: `${v.reason}: ${v.message}` };
  } finally {
    await store.destroy();
  }
}

export function auditCommand(out: Output, env: Readonly<Record<string, string | undefined>>) {
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
            .option("json", { type: "boolean", default: false }),
        async (a) => {
          const v = await verifyDataDir(a.dataDir);
          if (a.json) out.print(JSON.stringify(v));
          if (!v.ok)
            throw new CliError(`audit chain BROKEN at sequence ${v.seq}: ${v.message}`, EXIT.auditBroken);
          if (!a.json)
            out.print(`audit chain verified: ${v.count} events (head ${v.lastHash.slice(0, 16)}…)`);
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
            .option("limit", { type: "number", default: 100 })
            .option("target", { type: "string", describe: "e.g. request:42" })
            .option("json", {
              type: "boolean",
              default: false,
              describe: "one JSON event per line (NDJSON)",
            }),
        async (a) => {
          const q = new URLSearchParams({
            after: String(a.after),
            limit: String(a.limit),
            ...(a.target ? { target: a.target } : {}),
          });
          const { events } = await apiClient(
            a.url ?? env.DBWARD_URL,
            a.token ?? env.DBWARD_TOKEN,
          ).get<AuditListView>(`/api/audit?${q.toString()}`);
          for (const e of events) {
            out.print(
              a.json
                ? JSON.stringify(e)
                : `${String(e.seq).padStart(6)}  ${e.time}  ${e.outcome.padEnd(7)}  ${e.actor.padEnd(16)}  ${e.action.padEnd(28)}  ${e.target}`,
            );
          }
        },
      )
      .demandCommand(1, "name an audit subcommand");
}
