/**
 * An admin changes a user's name, email, links, roles or groups (`user.manage`). Fields another
 * source owns are refused, not silently overwritten later: a config-declared user's fields belong
 * to the config file, an OIDC user's roles and groups to the identity provider's group mappings.
 */
import { DbwardError, type UpdateUserBody, type UserView } from "@dbward/shared";
import { appendAudit } from "../audit/audit-log.ts";
import {
  parseDisplayName,
  parseEmail,
  parseGroups,
  parseOidcSubject,
  parseRoles,
  parseSlackUserId,
} from "../identity/user-input.ts";
import {
  changedFields,
  findUser,
  listColumn,
  toUser,
  toUserView,
  type User,
  type UserFields,
} from "../identity/users.ts";
import { inTransaction } from "../store/in-transaction.ts";
import { findUserRow, updateUserProfile } from "../store/users-repo.ts";
import { assertAdminRemains, refuseLockout } from "./assert-admin-remains.ts";
import type { BotContext } from "./bot-context.ts";
import { actorOf, can, type UserCaller } from "./caller.ts";
import { recordDenial } from "./record-denial.ts";
import { assertUniqueLinks } from "./user-uniqueness.ts";

/** The fields of PATCH /api/users/:id, each still to be validated. */
export type UpdateUserInput = { readonly [K in keyof UpdateUserBody]?: unknown };

export async function updateUser(
  ctx: BotContext,
  caller: UserCaller,
  id: string,
  input: UpdateUserInput,
): Promise<UserView> {
  const actor = actorOf(caller);
  if (!can(caller, "user.manage")) {
    return recordDenial(ctx, {
      actor,
      action: "user.update_refused",
      target: `user:${id}`,
      error: new DbwardError("auth.forbidden", "only an admin can change users"),
    });
  }
  const wanted = parsePatch(ctx, input);
  const now = ctx.clock.now();
  await inTransaction(ctx.store, async (tx) => {
    const row = await findUserRow(tx, id);
    if (row === undefined) throw new DbwardError("user.not_found", `there is no user ${id}`);
    const changed = changedFields(row, wanted);
    if (changed.length === 0) return;
    assertOwnedByAdmins(ctx, toUser(row), changed);
    if (changed.includes("roles"))
      await assertAdminRemains(tx, ctx.config().roles, {
        userId: id,
        // parsePatch validated them; parsed again for the list instead of casting its JSON text back.
        roles: parseRoles(input.roles, ctx.config().roles),
      });
    await assertUniqueLinks(tx, id, wanted);
    const set = Object.fromEntries(changed.map((k) => [k, wanted[k]])) as Partial<UserFields>;
    await updateUserProfile(tx, id, set, now);
    await appendAudit(
      tx,
      {
        actor,
        action: "user.updated",
        target: `user:${id}`,
        outcome: "success",
        details: {
          via: caller.via,
          changed,
          before: Object.fromEntries(changed.map((k) => [k, row[k]])),
          after: set,
        },
      },
      now,
    );
  }).catch((err: unknown) =>
    refuseLockout(ctx, err, { actor, action: "user.update_refused", target: `user:${id}` }),
  );
  const after = await findUser(ctx.store, id);
  if (after === undefined) throw new DbwardError("user.not_found", `there is no user ${id}`);
  return toUserView(after);
}

function parsePatch(ctx: BotContext, input: UpdateUserInput): Partial<UserFields> {
  return {
    ...(input.name !== undefined ? { display_name: parseDisplayName(input.name) } : {}),
    ...(input.email !== undefined ? { email: parseEmail(input.email) } : {}),
    ...(input.slack_user_id !== undefined ? { slack_user_id: parseSlackUserId(input.slack_user_id) } : {}),
    ...(input.oidc_subject !== undefined ? { oidc_subject: parseOidcSubject(input.oidc_subject) } : {}),
    ...(input.roles !== undefined ? { roles: listColumn(parseRoles(input.roles, ctx.config().roles)) } : {}),
    ...(input.groups !== undefined ? { groups_json: listColumn(parseGroups(input.groups)) } : {}),
  };
}

function assertOwnedByAdmins(ctx: BotContext, user: User, changed: readonly (keyof UserFields)[]): void {
  const declared = ctx.config().users.find((u) => u.id === user.id);
  // A user once declared in the config but no longer is belongs to the admins now.
  if (user.source === "config" && declared !== undefined) {
    const owned = changed.filter((k) => k !== "oidc_subject" || declared.oidc_subject !== undefined);
    if (owned.length > 0)
      throw new DbwardError(
        "user.managed_elsewhere",
        `${user.id} is declared in the config file, which wins for ${owned.join(", ")}; change it there`,
      );
  }
  if (user.source === "oidc") {
    const owned = changed.filter((k) => k === "roles" || k === "groups_json");
    if (owned.length > 0)
      throw new DbwardError(
        "user.managed_elsewhere",
        `${user.id} signs in through the identity provider, whose group mappings set roles and groups`,
      );
  }
}
