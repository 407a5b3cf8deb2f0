/**
 * Whether an approval under step-up (a workflow's `step_up`, core/workflow.ts needsStepUp) comes
 * with a fresh sign-in, checked inside decide-request.ts's transaction so the proof and the
 * approval are decided together. Two proofs count, and nothing else:
 *
 * - a challenge the provider's answer verified (step-up-complete.ts) for this request, this
 *   approval step and this user; spent here (verified -> approved), so one sign-in records one
 *   approval at most;
 * - a bearer JWT from `dbward login` whose `auth_time` is within the step-up's max_age (the CLI
 *   and MCP). A dbward API token never counts: it proves no sign-in at all.
 *
 * An approver who stepped up for this request before signs in again: every approval needs its
 * own fresh login (docs/security-hardening.md).
 */
import { DbwardError, type RequestId } from "@dbward/shared";
import { findChallenge, moveChallenge } from "../store/step-up-challenges-repo.ts";
import type { Tx } from "../store/in-transaction.ts";
import type { BotContext } from "./bot-context.ts";
import type { UserCaller } from "./caller.ts";

export type StepUpEvidence =
  | { readonly ok: true; readonly details: Record<string, unknown> }
  | { readonly ok: false; readonly error: DbwardError };

export async function checkStepUpEvidence(
  ctx: BotContext,
  tx: Tx,
  a: { caller: UserCaller; id: RequestId; step: number; challenge: string | undefined; workflow: string },
): Promise<StepUpEvidence> {
  const cfg = ctx.config();
  const maxAgeMs = cfg.step_up?.max_age;
  if (maxAgeMs === undefined || cfg.oidc === undefined)
    return refuse(
      `workflow ${a.workflow} needs a fresh sign-in to approve, and this bot has no step_up/oidc configured any more; ask an admin`,
    );
  if (a.challenge !== undefined) {
    const c = await findChallenge(tx, a.challenge);
    if (
      c === undefined ||
      c.status !== "verified" ||
      c.userId !== a.caller.user.id ||
      c.requestId !== a.id ||
      c.step !== a.step
    )
      return refuse(
        "this sign-in was for another approval step, or was already used; click Approve again for a new link",
      );
    if (!(await moveChallenge(tx, c.id, "verified", "approved", ctx.clock.now())))
      return refuse("this sign-in was already used; click Approve again for a new link");
    return { ok: true, details: { method: "oidc", via: "link", challenge: c.id, auth_time: c.authTime } };
  }
  const at = a.caller.via === "oidc" ? a.caller.authTime : undefined;
  const leewayMs = cfg.oidc.leeway_seconds * 1000;
  const age = at === undefined ? undefined : ctx.clock.now().getTime() - at.getTime();
  if (at !== undefined && age !== undefined && age <= maxAgeMs + leewayMs && age >= -leewayMs)
    return { ok: true, details: { method: "oidc", via: "bearer", auth_time: at.toISOString() } };
  const minutes = Math.max(1, Math.round(maxAgeMs / 60_000));
  return refuse(
    at === undefined
      ? `workflow ${a.workflow} needs a fresh sign-in to approve: click Approve in Slack and follow the private link, or run \`dbward login\` and approve within ${minutes} minute(s) with that session (an API token is not a sign-in)`
      : `workflow ${a.workflow} needs a sign-in at most ${minutes} minute(s) old, and yours is older: run \`dbward login\` again and approve at once`,
  );
}

function refuse(message: string): StepUpEvidence {
  return { ok: false, error: new DbwardError("approval.step_up_required", message) };
}
