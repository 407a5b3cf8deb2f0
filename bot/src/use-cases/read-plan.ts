/**
 * The whole plan of a request (GET /api/requests/:id/plan), for whoever may see the request:
 * the same people who read its SQL. Absent until an agent has made one.
 */
import { DbwardError, type RequestId } from "@dbward/shared";
import { findPlanJson, listPreflights } from "../store/preflights-repo.ts";
import type { BotContext } from "./bot-context.ts";
import type { UserCaller } from "./caller.ts";
import { findVisibleRequest } from "./read-requests.ts";

export interface PlanView {
  readonly request_id: number;
  readonly kind: "explain";
  readonly summary: unknown;
  /** The plan as EXPLAIN returned it. */
  readonly plan: unknown;
}

export async function readPlan(ctx: BotContext, caller: UserCaller, id: RequestId): Promise<PlanView> {
  await findVisibleRequest(ctx, caller, id);
  const explain = (await listPreflights(ctx.store, id)).find((p) => p.kind === "explain");
  const json = explain === undefined ? undefined : await findPlanJson(ctx.store, explain.id);
  if (explain === undefined || json === undefined) {
    const why =
      explain === undefined
        ? "no plan is made for it (DDL, SQLite, or explain: false for its database)"
        : explain.status === "failed"
          ? `planning failed: ${explain.error?.message ?? "no reason given"}`
          : explain.status === "succeeded"
            ? "its whole plan was deleted by results retention (its summary is kept with the request)"
            : `its plan is ${explain.status}`;
    throw new DbwardError("preflight.not_found", `request #${id} has no plan: ${why}`);
  }
  return { request_id: id, kind: "explain", summary: explain.summary, plan: JSON.parse(json) as unknown };
}
