/**
 * Every load of the config that declares functions trusted as side-effect-free (start and
 * reload) is audited: a trusted function runs as a read without anyone's approval where reads
 * are auto-approved, so who trusted what, and since when, belongs in the chain.
 */
import type { BotConfig } from "../config/bot-config.ts";
import { appendAudit } from "../audit/audit-log.ts";
import { inTransaction } from "../store/in-transaction.ts";
import type { Store } from "../store/open-store.ts";

export interface SqlTrustDeclaration {
  readonly database: string;
  readonly environment: string;
  readonly functions: readonly string[];
}

/** The config's trust declarations, one per `sql_review` entry that has any. */
export function sqlTrustDeclarations(config: BotConfig): SqlTrustDeclaration[] {
  return config.sql_review
    .filter((p) => (p.trusted_functions ?? []).length > 0)
    .map((p) => ({ database: p.database, environment: p.environment, functions: p.trusted_functions ?? [] }));
}

/** Appends `sql.trust_declared` when the config trusts any function; returns the declarations. */
export async function recordSqlTrust(
  store: Store,
  config: BotConfig,
  now: Date,
): Promise<SqlTrustDeclaration[]> {
  const declarations = sqlTrustDeclarations(config);
  if (declarations.length === 0) return declarations;
  await inTransaction(store, (tx) =>
    appendAudit(
      tx,
      {
        actor: "system",
        action: "sql.trust_declared",
        target: "config",
        outcome: "success",
        details: { declarations },
      },
      now,
    ),
  );
  return declarations;
}
