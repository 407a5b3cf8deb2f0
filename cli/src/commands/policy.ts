/** `dbward policy explain`: the decision trace for one SQL text, read from a bot config file. */
import { readFileSync } from "node:fs";
import type { planRequest } from "@dbward/bot";
import { describeTouchedTable } from "@dbward/shared/schema-context";
import { displaySql, visibleJson } from "@dbward/shared/sql/display-sql";
import type { Argv } from "yargs";
import { CliError } from "../cli-error.ts";
import { EXIT } from "../exit-codes.ts";
import type { Output } from "../output.ts";

export function policyCommand(out: Output, env: Readonly<Record<string, string | undefined>>) {
  return (y: Argv) =>
    y
      .command(
        "explain",
        "show which workflow a request would fall under, why, and what it requires",
        (c) =>
          c
            .option("config", {
              type: "string",
              default: env.DBWARD_CONFIG ?? "dbward.yml",
              describe: "bot config (YAML)",
            })
            .option("db", { type: "string", demandOption: true })
            .option("env", { type: "string", demandOption: true })
            .option("sql", { type: "string", demandOption: true })
            .option("schema", {
              type: "string",
              describe:
                "a schema context (JSON of dbward schema show DB ENV --json): sizes and cascades of the tables changed, and the risk they add",
            })
            .option("json", { type: "boolean", default: false }),
        async (a) => {
          let text: string;
          try {
            text = readFileSync(a.config, "utf8");
          } catch (err) {
            throw new CliError(`cannot read ${a.config}: ${(err as Error).message}`, EXIT.usage);
          }
          const [{ parseBotConfig, planRequest, schemaTables }, { initSqlReview }] = await Promise.all([
            import("@dbward/bot"),
            import("@dbward/shared"),
          ]);
          await initSqlReview();
          let tables;
          if (a.schema !== undefined) {
            const parsed = schemaTables.safeParse(readSchemaFile(a.schema));
            if (!parsed.success)
              throw new CliError(
                `${a.schema} is not a schema context (dbward schema show DB ENV --json): ${parsed.error.issues[0]?.path.join(".") ?? ""} ${parsed.error.issues[0]?.message ?? ""}`,
                EXIT.usage,
              );
            tables = parsed.data;
          }
          const plan = planRequest(
            parseBotConfig(text, a.config),
            { database: a.db, environment: a.env, sql: a.sql },
            tables,
          );
          if (a.json) out.print(visibleJson(plan));
          else out.print(explainText(plan));
          if (!plan.ok) throw new CliError(`refused: ${plan.message}`, EXIT.refused);
        },
      )
      .demandCommand(1, "name a policy subcommand");
}

/** The `tables` of a schema context file, or a usage error saying why it cannot be read. */
function readSchemaFile(path: string): unknown {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, "utf8"));
  } catch (err) {
    throw new CliError(`cannot read ${path}: ${(err as Error).message}`, EXIT.usage);
  }
  return typeof parsed === "object" && parsed !== null && "tables" in parsed ? parsed.tables : undefined;
}

function explainText(plan: ReturnType<typeof planRequest>): string {
  const lines: string[] = [];
  if (plan.review) lines.push(`SQL review: class ${plan.review.class}, risk ${plan.review.risk}`);
  for (const f of plan.review?.findings ?? []) lines.push(`  [${f.severity}] ${f.rule}: ${f.message}`);
  for (const t of plan.trace ?? [])
    lines.push(
      `  ${t.matched ? "match" : "skip "} ${t.workflow}: ${t.why}${t.specificity !== undefined ? ` (specificity ${t.specificity})` : ""}`,
    );
  if (!plan.ok) return lines.join("\n");
  const auto = plan.workflow.auto_approve;
  lines.push(`workflow: ${plan.workflow.name}`);
  lines.push(
    `auto-approve: ${typeof auto === "string" ? auto : "risk_at_most" in auto ? `when risk is at most ${auto.risk_at_most}` : `a write whose dry run changes at most ${auto.max_rows} rows (decided once it has counted them)`} → ${plan.autoApproved ? "this request is auto-approved" : "approval needed"}`,
  );
  plan.workflow.steps.forEach((s, i) =>
    lines.push(
      `  step ${i + 1} (${s.name}): ${s.min}${s.mode === "all" ? " each" : ""} of ${s.approvers.join(", ")}`,
    ),
  );
  if (plan.touchedTables.length > 0) {
    lines.push("changes:");
    for (const t of plan.touchedTables) lines.push(`  ${displaySql(describeTouchedTable(t))}`);
  }
  if (plan.workflow.break_glass_roles.length > 0)
    lines.push(`break-glass allowed for: ${plan.workflow.break_glass_roles.join(", ")}`);
  lines.push(
    `limits: statement timeout ${plan.limits.statement_timeout_ms} ms, row cap ${plan.limits.row_cap}${plan.limits.max_executions ? `, at most ${plan.limits.max_executions.count} executions per ${plan.limits.max_executions.window_minutes} min` : ""}`,
  );
  return lines.join("\n");
}
