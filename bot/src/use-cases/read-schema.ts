/**
 * GET /api/schema/:database/:environment: the latest schema context an agent reported, with its
 * age. Nothing in it is a secret, but it maps a production database, so only people who may
 * make requests on that database × environment see it (list-requestable-targets.ts).
 */
import { DbwardError, parseDatabaseName, parseEnvironmentName, type SchemaContextView } from "@dbward/shared";
import { findSchemaContext, type SchemaContextRecord } from "../store/schema-contexts-repo.ts";
import type { BotContext } from "./bot-context.ts";
import type { UserCaller } from "./caller.ts";
import { mayRequestOn } from "./list-requestable-targets.ts";

export async function readSchema(
  ctx: BotContext,
  caller: UserCaller,
  rawDatabase: string,
  rawEnvironment: string,
): Promise<SchemaContextView> {
  if (caller.user.status !== "active")
    throw new DbwardError("auth.suspended", "your dbward account is suspended");
  const database = parseDatabaseName(rawDatabase);
  const environment = parseEnvironmentName(rawEnvironment);
  if (database === undefined || environment === undefined)
    throw new DbwardError("request.invalid", "a database and an environment name are required");
  if (!mayRequestOn(ctx, caller, database, environment))
    throw new DbwardError(
      "auth.forbidden",
      `you may not make requests on ${database}/${environment}, so its schema is not shown to you`,
    );
  const found = await findSchemaContext(ctx.store, database, environment);
  if (found === undefined)
    throw new DbwardError(
      "schema.not_found",
      `no agent has reported the schema of ${database}/${environment} yet (agents report it on start and every schema_interval)`,
    );
  return toSchemaContextView(found);
}

export function toSchemaContextView(c: SchemaContextRecord): SchemaContextView {
  return {
    database: c.database,
    environment: c.environment,
    agent: c.agentId,
    collected_at: c.collectedAt,
    received_at: c.receivedAt,
    truncated: c.truncated,
    tables: [...c.tables],
  };
}
