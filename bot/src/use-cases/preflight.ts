/** POST /api/preflight: what would happen to this SQL on this database, without creating anything. */
import { DbwardError, parseDatabaseName, parseEnvironmentName } from "@dbward/shared";
import { planRequest, type RequestPlan } from "../core/plan-request.ts";
import type { BotContext } from "./bot-context.ts";
import { type UserCaller } from "./caller.ts";

export function preflight(ctx: BotContext, caller: UserCaller, body: Record<string, unknown>): RequestPlan {
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
  return planRequest(ctx.config(), { database, environment, sql: body.sql });
}
