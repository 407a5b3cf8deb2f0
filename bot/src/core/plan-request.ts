/**
 * What would happen to a request, decided without touching any state: the SQL review, the
 * workflow it falls under (with the decision trace), the execution limits, and whether it is
 * auto-approved. Request creation, `POST /api/preflight` and `dbward policy explain` all use it,
 * so the three can never disagree.
 */
import {
  largeTablesOf,
  raiseRisk,
  reviewSql,
  touchedTables,
  type OperationClass,
  type SchemaTable,
  type SqlDialect,
  type SqlReview,
  type SqlReviewOptions,
  type TouchedTableView,
} from "@dbward/shared";
import type { BotConfig } from "../config/bot-config.ts";
import { resolveExecutionLimits, type ExecutionLimits } from "./execution-policy.ts";
import { hasMaskedColumnFinding, withMaskedColumnFindings } from "./masked-column-review.ts";
import { resolveSqlReviewOptions } from "./sql-review-policy.ts";
import { autoApproves, matchWorkflow, type TraceLine, type WorkflowSnapshot } from "./workflow.ts";

export type RequestPlan =
  | {
      readonly ok: true;
      readonly review: SqlReview;
      readonly operation: OperationClass;
      readonly workflow: WorkflowSnapshot;
      readonly trace: readonly TraceLine[];
      readonly limits: ExecutionLimits;
      readonly autoApproved: boolean;
      /** The tables the statement changes, as the schema context knows them (none without one). */
      readonly touchedTables: readonly TouchedTableView[];
    }
  | {
      readonly ok: false;
      readonly code: "request.invalid" | "sql.rejected" | "request.no_workflow";
      readonly message: string;
      readonly review?: SqlReview;
      readonly trace?: readonly TraceLine[];
    };

/**
 * The review, with the schema context's risk when there is one. Fail closed: a table the text
 * changes that the context does not know (a name it never reported, or an alias the review could
 * not resolve) counts as large, and so does a write whose changed tables the review could not
 * name at all (a writable CTE), since nothing shows they are small.
 */
function schemaAwareReview(
  sql: string,
  dialect: SqlDialect,
  options: SqlReviewOptions,
  schema: readonly SchemaTable[] | undefined,
): SqlReview {
  const plain = reviewSql(sql, dialect, options);
  if (schema === undefined) return plain;
  const targets = plain.targets ?? [];
  const known = new Set(schema.map((t) => t.name.toLowerCase()));
  const largeTables = largeTablesOf(schema);
  for (const t of targets) if (!known.has(t)) largeTables.add(t);
  const review = reviewSql(sql, dialect, { ...options, schema: { largeTables } });
  if (review.class !== "write" || targets.length > 0) return review;
  return { ...review, risk: raiseRisk(review.risk, "high") };
}

/**
 * `schema`: the agent's latest schema context of the target, when there is one: a write on a
 * large table, or on one whose changes cascade into a large table, climbs a risk level
 * (SchemaRiskFactors), and the plan names the touched tables with their sizes and cascades.
 */
export function planRequest(
  config: BotConfig,
  target: { database: string; environment: string; sql: string },
  schema?: readonly SchemaTable[],
): RequestPlan {
  const db = config.databases.find((d) => d.name === target.database);
  if (db === undefined) {
    return {
      ok: false,
      code: "request.invalid",
      message: `unknown database ${target.database}; known: ${config.databases.map((d) => d.name).join(", ")}`,
    };
  }
  if (!db.environments.includes(target.environment)) {
    return {
      ok: false,
      code: "request.invalid",
      message: `database ${db.name} has no environment ${target.environment}; it has ${db.environments.join(", ")}`,
    };
  }
  const options = resolveSqlReviewOptions(config.sql_review, db.name, target.environment);
  const review = withMaskedColumnFindings(schemaAwareReview(target.sql, db.dialect, options, schema), {
    policies: config.masking.policies,
    database: db.name,
    environment: target.environment,
    dialect: db.dialect,
    sql: target.sql,
    schema,
  });
  const blocking = review.findings.filter((f) => f.severity === "block");
  if (review.class === "rejected" || blocking.length > 0) {
    const why = blocking.map((f) => f.message).join("; ") || "the SQL review rejected this text";
    return { ok: false, code: "sql.rejected", message: `SQL refused: ${why}`, review };
  }
  const match = matchWorkflow(config.workflows, {
    database: db.name,
    environment: target.environment,
    operation: review.class,
  });
  if (!match.ok)
    return { ok: false, code: "request.no_workflow", message: match.reason, review, trace: match.trace };
  return {
    ok: true,
    review,
    operation: review.class,
    workflow: match.workflow,
    trace: match.trace,
    limits: resolveExecutionLimits(config, db.name, target.environment),
    // A call the allowlist could not prove needs a person, whatever the workflow says.
    autoApproved:
      (review.unverifiedCalls ?? []).length === 0 &&
      // A read that filters or computes over a masked column leaks it without showing it.
      !hasMaskedColumnFinding(review) &&
      autoApproves(match.workflow.auto_approve, review.risk),
    touchedTables: schema === undefined ? [] : touchedTables(review.targets ?? [], schema),
  };
}
