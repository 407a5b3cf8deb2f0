/**
 * Doctor's check of the bot's masking policies against the schema contexts agents reported
 * (docs/security-hardening.md, "Column masking"): a policy naming a column its table does not
 * have is a config error, and the agent refuses the reads it would mask (`masking.unknown_column`)
 * until it is corrected. A database × environment no agent has reported yet cannot be judged
 * here (a warning); the agent checks it against the real catalogue.
 */
import { findSchemaContext, maskingSchemaFindings, type BotConfig } from "@dbward/bot";
import type { Store } from "@dbward/bot/store/open-store";
import { fail, ok, warn, type Check } from "./check.ts";
import { hasTable } from "./has-table.ts";

const WHAT = "masking policies";

export async function checkMaskingPolicies(store: Store, config: BotConfig): Promise<Check[]> {
  const { policies } = config.masking;
  if (policies.length === 0) return [];
  const reported = await hasTable(store, "schema_contexts");
  const checks: Check[] = [];
  let judged = 0;
  for (const db of config.databases) {
    for (const environment of db.environments) {
      const applies = policies.some(
        (p) =>
          (p.database === "*" || p.database === db.name) &&
          (p.environment === "*" || p.environment === environment),
      );
      if (!applies) continue;
      const context = reported ? await findSchemaContext(store, db.name, environment) : undefined;
      if (context === undefined) {
        checks.push(
          warn(
            WHAT,
            `${db.name}/${environment}: no agent has reported its schema yet, so its policies are checked only by the agent, at run time`,
            "start the agent for it (schema: true, the default) and run doctor again",
          ),
        );
        continue;
      }
      judged += 1;
      for (const f of maskingSchemaFindings({
        policies,
        database: db.name,
        environment,
        schema: context.tables,
      }))
        checks.push(fail(WHAT, `${db.name}/${environment}: ${f.message}`, f.hint ?? "correct the policy"));
    }
  }
  if (checks.every((c) => c.status !== "fail") && judged > 0)
    checks.unshift(
      ok(WHAT, `${policies.length} policies; every column they name is in the reported schemas`),
    );
  return checks;
}
