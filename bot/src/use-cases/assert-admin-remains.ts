/**
 * Guards against locking everyone out: a change that would leave no active user able to manage
 * users (`user.manage`) is refused. Checked inside the change's own transaction, which the
 * refusal rolls back; the caller then audits it with `refuseLockout`.
 */
import { DbwardError } from "@dbward/shared";
import { permissionsOf, type CustomRoles } from "../core/permissions.ts";
import type { Tx } from "../store/in-transaction.ts";
import { listActiveUserRoles } from "../store/users-repo.ts";
import type { BotContext } from "./bot-context.ts";
import { recordDenial } from "./record-denial.ts";

export class LockoutRefusal extends DbwardError {
  constructor() {
    super(
      "auth.forbidden",
      "this change would leave no active admin; give someone else the admin role first",
    );
  }
}

/** Audits a lockout refusal (after its transaction rolled back) and throws it; other errors pass through. */
export async function refuseLockout(
  ctx: BotContext,
  err: unknown,
  denial: { readonly actor: string; readonly action: string; readonly target: string },
): Promise<never> {
  if (err instanceof LockoutRefusal) return recordDenial(ctx, { ...denial, error: err });
  throw err;
}

export async function assertAdminRemains(
  tx: Tx,
  custom: CustomRoles,
  change: { readonly userId: string; readonly roles?: readonly string[]; readonly suspended?: boolean },
): Promise<void> {
  const active = await listActiveUserRoles(tx);
  const managers = active.filter((u) => {
    if (u.id === change.userId && change.suspended === true) return false;
    const roles = u.id === change.userId && change.roles !== undefined ? change.roles : u.roles;
    return permissionsOf(roles, custom).has("user.manage");
  });
  if (managers.length === 0) throw new LockoutRefusal();
}
