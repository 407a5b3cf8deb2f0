/**
 * An agent reports the schema of one database × environment it serves (POST /api/agent/schema):
 * its tables with their estimated rows and sizes, columns, keys, foreign keys with their ON
 * DELETE/UPDATE actions, and indexes. Only for a target the agent has declared a capability on;
 * the shape is checked whole (unknown keys refused, every list bounded) before anything is
 * stored, and the latest report replaces the one before. Audited with its size, not its content.
 */
import { DbwardError, type SchemaReportBody } from "@dbward/shared";
import { z } from "zod";
import { appendAudit } from "../audit/audit-log.ts";
import { findAgentCapabilities } from "../store/agents-repo.ts";
import { inTransaction } from "../store/in-transaction.ts";
import { saveSchemaContext } from "../store/schema-contexts-repo.ts";
import { schemaTables } from "../store/schema-report-shape.ts";
import type { BotContext } from "./bot-context.ts";
import { holdAgentSession, parseSessionId } from "./hold-agent-session.ts";

const report = z.strictObject({
  session: z.unknown().optional(),
  database: z.string().min(1).max(200),
  environment: z.string().min(1).max(200),
  collected_at: z.iso.datetime({ offset: true }),
  tables: schemaTables,
  truncated: z.boolean(),
});

export async function submitSchema(
  ctx: BotContext,
  agentId: string,
  body: Partial<Record<keyof SchemaReportBody, unknown>>,
): Promise<void> {
  const session = parseSessionId(body.session);
  if (session !== undefined) await holdAgentSession(ctx, agentId, session);
  const parsed = report.safeParse(body);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue === undefined ? "" : `${issue.path.join(".") || "(root)"}: ${issue.message}`;
    throw new DbwardError("request.invalid", `schema report: ${where}`);
  }
  const r = parsed.data;
  const now = ctx.clock.now();
  // Only a database × environment the bot serves: a report for any other would be kept for
  // nobody (agents declare their capabilities themselves), a store an agent token could fill.
  const db = ctx.config().databases.find((d) => d.name === r.database);
  if (db === undefined || !db.environments.includes(r.environment))
    throw new DbwardError(
      "auth.forbidden",
      `${r.database}/${r.environment} is not a database and environment this bot serves`,
    );
  await inTransaction(ctx.store, async (tx) => {
    const caps = await findAgentCapabilities(tx, agentId);
    if (!caps.some((c) => c.database === r.database && c.environment === r.environment))
      throw new DbwardError(
        "auth.forbidden",
        `agent ${agentId} has declared no capability on ${r.database}/${r.environment}`,
      );
    await saveSchemaContext(
      tx,
      {
        database: r.database,
        environment: r.environment,
        agentId,
        collectedAt: new Date(r.collected_at).toISOString(),
        receivedAt: now.toISOString(),
        truncated: r.truncated,
        tables: r.tables,
      },
      ctx.random.secret(12),
    );
    await appendAudit(
      tx,
      {
        actor: `agent:${agentId}`,
        action: "schema.reported",
        target: `database:${r.database}/${r.environment}`,
        outcome: "success",
        details: { tables: r.tables.length, truncated: r.truncated, collected_at: r.collected_at },
      },
      now,
    );
  });
}
