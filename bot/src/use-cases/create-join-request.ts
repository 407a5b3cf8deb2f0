/**
 * A person not yet known asks to join (Slack's `/dbward join`). The Slack adapter has already
 * verified the request's signature, so the Slack user id is who they are; everything else is
 * what they claim and an admin judges it. One pending request per person; requests expire.
 */
import { DbwardError, type JoinRequestView } from "@dbward/shared";
import { appendAudit } from "../audit/audit-log.ts";
import {
  findJoinRequest,
  findPendingJoinRequestBySlackId,
  toJoinRequestView,
} from "../identity/join-requests.ts";
import { parseDisplayName, parseEmail, parseGroups, parseSlackUserId } from "../identity/user-input.ts";
import { findUserBySlackId, listColumn } from "../identity/users.ts";
import { inTransaction } from "../store/in-transaction.ts";
import { insertJoinRequest } from "../store/join-requests-repo.ts";
import type { BotContext } from "./bot-context.ts";

export interface JoinRequestInput {
  /** From the verified Slack request, never from a form field. */
  readonly slackUserId: string;
  /** From Slack's `users.info`. */
  readonly name: unknown;
  readonly email?: unknown;
  readonly requestedRole: unknown;
  readonly groups?: unknown;
  readonly reason: unknown;
}

export async function createJoinRequest(ctx: BotContext, input: JoinRequestInput): Promise<JoinRequestView> {
  const slackUserId = parseSlackUserId(input.slackUserId);
  if (slackUserId === null) throw new DbwardError("request.invalid", "a Slack user id is required");
  const actor = `slack:${slackUserId}`;
  const { allowed_roles: allowed, ttl_hours: ttlHours } = ctx.config().join_requests;
  const role = input.requestedRole;
  if (typeof role !== "string" || !allowed.includes(role))
    throw new DbwardError("request.invalid", `the role must be one of ${allowed.join(", ")}`);
  const reason = typeof input.reason === "string" ? input.reason.trim() : "";
  if (reason === "" || reason.length > 500)
    throw new DbwardError("request.invalid", "say why you need access (1-500 characters)");
  const fields = {
    display_name: parseDisplayName(input.name),
    email: parseEmail(input.email),
    groups_json: listColumn(parseGroups(input.groups)),
  };
  const now = ctx.clock.now();
  const id = `join_${ctx.random.secret(9)}`;
  await inTransaction(ctx.store, async (tx) => {
    const user = await findUserBySlackId(tx, slackUserId);
    if (user !== undefined) throw new DbwardError("user.exists", `you already are dbward user ${user.id}`);
    if ((await findPendingJoinRequestBySlackId(tx, slackUserId)) !== undefined)
      throw new DbwardError("quota.exceeded", "you already asked to join; an admin will decide soon");
    await insertJoinRequest(tx, {
      id,
      slackUserId,
      displayName: fields.display_name,
      email: fields.email,
      groupsJson: fields.groups_json,
      requestedRole: role,
      reason,
      createdAt: now.toISOString(),
      expiresAt: new Date(now.getTime() + ttlHours * 3_600_000).toISOString(),
    });
    await appendAudit(
      tx,
      {
        actor,
        action: "join.requested",
        target: `join:${id}`,
        outcome: "success",
        details: { ...fields, requested_role: role, reason },
      },
      now,
    );
  });
  const row = await findJoinRequest(ctx.store, id);
  if (row === undefined)
    throw new DbwardError("internal", `join request ${id} vanished after it was created`);
  return toJoinRequestView(row);
}
