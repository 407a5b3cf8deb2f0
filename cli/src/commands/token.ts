/** `dbward token create|list|revoke`: API tokens for scripts, your own or (as an admin) anyone's. */
import type { CreatedTokenView, TokenListView, TokenView } from "@dbward/shared";
import type { Argv } from "yargs";
import { clientFromFlags } from "../api-client.ts";
import { formatTable } from "../format-table.ts";
import type { Output } from "../output.ts";

function listOf(text: string | undefined): string[] | undefined {
  if (text === undefined) return undefined;
  return text
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s !== "");
}

export function formatTokens(tokens: readonly TokenView[]): string {
  if (tokens.length === 0) return "no tokens";
  return formatTable(
    ["id", "user", "name", "token", "roles", "status", "expires", "last used"],
    tokens.map((t) => [
      t.id,
      t.kind === "agent" ? `agent:${t.subject}` : t.subject,
      t.name,
      t.hint,
      t.roles === null ? "(all of the user's)" : t.roles.join(","),
      t.status,
      t.expires_at ?? "never",
      t.last_used_at ?? "never",
    ]),
  );
}

export function tokenCommand(out: Output, env: Readonly<Record<string, string | undefined>>) {
  return (y: Argv) =>
    y
      .option("url", { type: "string", describe: "bot URL (default: $DBWARD_URL)" })
      .option("token", {
        type: "string",
        describe: "API token (default: $DBWARD_TOKEN, else dbward login's)",
      })
      .option("json", { type: "boolean", default: false, describe: "print JSON for scripts" })
      .command(
        "create",
        "create an API token (the secret is shown once)",
        (c) =>
          c
            .option("name", { type: "string", demandOption: true, describe: "what the token is for" })
            .option("user", { type: "string", describe: "for another user (admins only)" })
            .option("expires-in-days", { type: "number", describe: "1-366; default: never" })
            .option("roles", {
              type: "string",
              describe: "ceiling: the token acts with at most these roles (a,b)",
            }),
        async (a) => {
          const roles = listOf(a.roles);
          const created = await clientFromFlags(env, a).post<CreatedTokenView>("/api/tokens", {
            name: a.name,
            ...(a.user !== undefined ? { user: a.user } : {}),
            ...(a.expiresInDays !== undefined ? { expires_in_days: a.expiresInDays } : {}),
            ...(roles !== undefined ? { roles } : {}),
          });
          if (a.json) {
            out.print(JSON.stringify(created));
            return;
          }
          out.print(`token ${created.id} for ${created.user} (${created.name})`);
          out.print(`  roles:   ${created.roles === null ? "all of the user's" : created.roles.join(", ")}`);
          out.print(`  expires: ${created.expires_at ?? "never"}`);
          out.print("");
          out.print(created.token);
          out.print("");
          out.print("This is the only time the secret is shown; dbward keeps only its hash.");
        },
      )
      .command(
        "list",
        "list API tokens (never their secrets)",
        (c) =>
          c
            .option("user", { type: "string", describe: "another user's tokens (admins only)" })
            .option("all", {
              type: "boolean",
              default: false,
              describe: "every token, agents' too (admins only)",
            }),
        async (a) => {
          const q = new URLSearchParams({
            ...(a.user !== undefined ? { user: a.user } : {}),
            ...(a.all ? { all: "true" } : {}),
          });
          const { tokens } = await clientFromFlags(env, a).get<TokenListView>(`/api/tokens?${q.toString()}`);
          out.print(a.json ? JSON.stringify(tokens) : formatTokens(tokens));
        },
      )
      .command(
        "revoke <id>",
        "revoke a token; it stops working on its next use",
        (c) => c.positional("id", { type: "string", demandOption: true }),
        async (a) => {
          const t = await clientFromFlags(env, a).delete<TokenView>(
            `/api/tokens/${encodeURIComponent(a.id)}`,
          );
          out.print(a.json ? JSON.stringify(t) : `token ${t.id} (${t.name}) is ${t.status}`);
        },
      )
      .demandCommand(1, "name a token subcommand: create, list or revoke");
}
