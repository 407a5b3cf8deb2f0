/**
 * The databases and environments a caller may ask for: those a workflow covers for at least one
 * operation class (anything else would be refused at creation). Feeds the query modal's selects.
 */
import { OPERATION_CLASSES } from "@dbward/shared";
import { matchWorkflow } from "../core/workflow.ts";
import type { BotContext } from "./bot-context.ts";
import { assertPermission, can, type UserCaller } from "./caller.ts";

export interface RequestableTarget {
  readonly database: string;
  readonly environments: readonly string[];
}

export function listRequestableTargets(ctx: BotContext, caller: UserCaller): RequestableTarget[] {
  assertPermission(caller, "request.create");
  const config = ctx.config();
  return config.databases
    .map((db) => ({
      database: db.name,
      environments: db.environments.filter((environment) =>
        OPERATION_CLASSES.some(
          (operation) => matchWorkflow(config.workflows, { database: db.name, environment, operation }).ok,
        ),
      ),
    }))
    .filter((t) => t.environments.length > 0);
}

/** Whether the caller may make requests on this database × environment (who may see its schema). */
export function mayRequestOn(
  ctx: BotContext,
  caller: UserCaller,
  database: string,
  environment: string,
): boolean {
  return (
    can(caller, "request.create") &&
    listRequestableTargets(ctx, caller).some(
      (t) => t.database === database && t.environments.includes(environment),
    )
  );
}
