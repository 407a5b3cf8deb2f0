/**
 * An admin adds a user (`user.manage`): from the API, or from the Slack admin modal, where the
 * Slack id comes from the user picker and the name and email from Slack's `users.info`. Without
 * an id one is made from the email or the name. The record is `source: admin`: the config does
 * not own it, and admins may change it later.
 */
import { DbwardError, type CreateUserBody, type UserView } from "@dbward/shared";
import {
  parseDisplayName,
  parseEmail,
  parseGroups,
  parseOidcSubject,
  parseRoles,
  parseSlackUserId,
  parseUserIdField,
} from "../identity/user-input.ts";
import { findUser, listColumn, toUserView } from "../identity/users.ts";
import { inTransaction } from "../store/in-transaction.ts";
import type { BotContext } from "./bot-context.ts";
import { actorOf, can, type UserCaller } from "./caller.ts";
import { createAdminUser } from "./create-admin-user.ts";
import { recordDenial } from "./record-denial.ts";

/** The fields of POST /api/users, each still to be validated. */
export type AddUserInput = { readonly [K in keyof CreateUserBody]?: unknown };

export async function addUser(ctx: BotContext, caller: UserCaller, input: AddUserInput): Promise<UserView> {
  const actor = actorOf(caller);
  if (!can(caller, "user.manage")) {
    return recordDenial(ctx, {
      actor,
      action: "user.create_refused",
      target: "",
      error: new DbwardError("auth.forbidden", "only an admin can add users"),
    });
  }
  const name = parseDisplayName(input.name);
  const email = parseEmail(input.email);
  const fields = {
    display_name: name,
    email,
    slack_user_id: parseSlackUserId(input.slack_user_id),
    roles: listColumn(parseRoles(input.roles, ctx.config().roles)),
    groups_json: listColumn(parseGroups(input.groups)),
    oidc_subject: parseOidcSubject(input.oidc_subject),
  };
  const wantedId = input.id === undefined || input.id === "" ? undefined : parseUserIdField(input.id);
  const now = ctx.clock.now();
  const id = await inTransaction(ctx.store, (tx) =>
    createAdminUser(tx, { wantedId, fields, actor, now, idField: "", details: { via: caller.via } }),
  );
  const created = await findUser(ctx.store, id);
  if (created === undefined) throw new DbwardError("internal", `user ${id} vanished after it was created`);
  return toUserView(created);
}
