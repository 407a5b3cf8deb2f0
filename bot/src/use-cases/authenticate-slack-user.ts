/**
 * Who is behind a Slack user id, for a request whose Slack signature was already verified.
 * An unlinked id is a normal answer (undefined): the adapter tells the person how to get linked.
 * A suspended user is refused and the refusal audited, as for any other way in (SECURITY.md,
 * principle 4: every caller, every call).
 */
import { DbwardError } from "@dbward/shared";
import { findUserBySlackId } from "../identity/users.ts";
import type { BotContext } from "./bot-context.ts";
import { recordAuthFailure } from "./record-auth-failure.ts";
import { userCaller, type UserCaller } from "./caller.ts";

export async function authenticateSlackUser(
  ctx: BotContext,
  slackUserId: string,
): Promise<UserCaller | undefined> {
  const user = await findUserBySlackId(ctx.store, slackUserId);
  if (user === undefined) return undefined;
  if (user.status !== "active") {
    await recordAuthFailure(ctx, {
      actor: `user:${user.id}`,
      details: { why: "suspended", via: "slack", slack_user_id: slackUserId },
    });
    throw new DbwardError("auth.suspended", "your dbward account is suspended");
  }
  return userCaller(ctx, user, "slack");
}
