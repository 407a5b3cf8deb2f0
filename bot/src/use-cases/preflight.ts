/** POST /api/preflight: what would happen to this SQL on this database, without creating anything. */
import { DbwardError, parseDatabaseName, parseEnvironmentName } from "@dbward/shared";
import { planRequest, type RequestPlan } from "../core/plan-request.ts";
import { findSchemaContext } from "../store/schema-contexts-repo.ts";
import type { BotContext } from "./bot-context.ts";
import { type UserCaller } from "./caller.ts";
import { mayRequestOn } from "./list-requestable-targets.ts";

export async function preflight(
  ctx: BotContext,
  caller: UserCaller,
  body: Record<string, unknown>,
): Promise<RequestPlan> {
  if (caller.user.status !== "active")
    throw new DbwardError("auth.suspended", "your dbward account is suspended");
  const database = parseDatabaseName(body.database);
  const environment = parseEnvironmentName(body.environment);
  if (
    database === undefined ||
    environment === undefined ||
    typeof body.sql !== "string" ||
    body.sql.trim() === ""
  ) {
    throw new DbwardError("request.invalid", "database, environment and sql are required");
  }
  // The schema context maps a production database: only for people who may request there.
  const schema = mayRequestOn(ctx, caller, database, environment)
    ? await findSchemaContext(ctx.store, database, environment)
    : undefined;
  return planRequest(ctx.config(), { database, environment, sql: body.sql }, schema?.tables);
}
