/**
 * First-start credentials: an admin API token and one token per configured agent. Each is taken
 * from the environment when set (DBWARD_ADMIN_TOKEN, DBWARD_AGENT_TOKEN_<ID>) or generated; a
 * generated secret is returned once for the operator to copy, and only its hash is stored.
 */
import { appendAudit } from "./audit/audit-log.ts";
import type { BotConfig } from "./config/bot-config.ts";
import type { Clock, Random } from "./core/clock.ts";
import { DbwardError } from "@dbward/shared";
import {
  authenticateToken,
  hasLiveToken,
  isTokenOfKind,
  issueToken,
  tokenShape,
  type TokenKind,
} from "./identity/api-tokens.ts";
import { inTransaction } from "./store/in-transaction.ts";
import type { Store } from "./store/open-store.ts";

export interface BootstrapSecret {
  readonly kind: TokenKind;
  readonly subject: string;
  readonly secret: string;
}

export function agentTokenEnvName(agentId: string): string {
  return `DBWARD_AGENT_TOKEN_${agentId.toUpperCase().replace(/[^A-Z0-9]/g, "_")}`;
}

/** The tokens a start makes sure exist, and the variables that may give their secrets. */
export function bootstrapTokenVariables(
  config: BotConfig,
): { readonly kind: TokenKind; readonly subject: string; readonly envName: string }[] {
  // The admin's token only when there is an admin to give it to.
  const admin = config.bootstrap_admin ?? config.users.find((u) => u.roles.includes("admin"))?.id;
  return [
    ...(admin === undefined
      ? []
      : [{ kind: "user" as const, subject: admin, envName: "DBWARD_ADMIN_TOKEN" }]),
    ...config.agents.map((a) => ({
      kind: "agent" as const,
      subject: a.id,
      envName: agentTokenEnvName(a.id),
    })),
  ];
}

/**
 * What is wrong with a bootstrap secret from the environment (unset is fine: one is generated),
 * in the words the start refuses it with; `dbward doctor` says the same.
 */
export function bootstrapSecretProblem(
  w: { readonly kind: TokenKind; readonly envName: string },
  value: string | undefined,
): string | undefined {
  if (value === undefined || value === "" || isTokenOfKind(value, w.kind)) return undefined;
  return `${w.envName} is not a dbward ${w.kind} token: it must look like ${tokenShape(w.kind)} (for example ${w.kind === "user" ? "dbw_" : "dbwa_"}$(openssl rand 32 | basenc --base64url | tr -d =)), or be unset to have one generated`;
}

export async function bootstrapTokens(
  store: Store,
  config: BotConfig,
  env: Readonly<Record<string, string | undefined>>,
  deps: { clock: Clock; random: Random },
): Promise<BootstrapSecret[]> {
  const printed: BootstrapSecret[] = [];
  const wanted = bootstrapTokenVariables(config);
  // Every secret from the environment is checked before any is stored, so a bad one stops the
  // start before a generated token is committed and never printed.
  for (const w of wanted) {
    const problem = bootstrapSecretProblem(w, env[w.envName]);
    if (problem !== undefined) throw new DbwardError("config.invalid", problem);
  }
  for (const w of wanted) {
    const fromEnv = env[w.envName];
    const now = deps.clock.now();
    // Checked inside the write transaction: instances starting at once on one PostgreSQL state
    // take turns here, so the second finds the first one's token instead of issuing another.
    const issued = await inTransaction(store, async (tx) => {
      if (fromEnv !== undefined && fromEnv !== "") {
        if ((await authenticateToken(tx, fromEnv, w.kind, now))?.subject === w.subject) return undefined;
      } else if (await hasLiveToken(tx, w.kind, w.subject, now)) {
        return undefined;
      }
      const t = await issueToken(tx, deps, {
        kind: w.kind,
        subject: w.subject,
        name: "bootstrap",
        createdBy: "system",
        ...(fromEnv ? { secret: fromEnv } : {}),
      });
      await appendAudit(
        tx,
        {
          actor: "system",
          action: "token.created",
          target: `${w.kind}:${w.subject}`,
          outcome: "success",
          details: { token_id: t.id, name: "bootstrap", from_env: fromEnv !== undefined && fromEnv !== "" },
        },
        now,
      );
      return t;
    });
    if (issued !== undefined && !fromEnv)
      printed.push({ kind: w.kind, subject: w.subject, secret: issued.secret });
  }
  return printed;
}
