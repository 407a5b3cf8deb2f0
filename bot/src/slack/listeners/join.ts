/**
 * `/dbward join`: a person not yet known fills in a form; every admin with a Slack id gets a
 * review post with Approve and Reject; the person is told by DM either way.
 */
import { DbwardError, type JoinRequestView } from "@dbward/shared";
import type { App, BlockButtonAction, ViewSubmitAction } from "@slack/bolt";
import { listUsers } from "../../identity/users.ts";
import { authenticateSlackUser } from "../../use-cases/authenticate-slack-user.ts";
import { createJoinRequest } from "../../use-cases/create-join-request.ts";
import { decideJoinRequest, type JoinDecision } from "../../use-cases/decide-join-request.ts";
import { SLACK_IDS } from "../ids.ts";
import { joinDecidedMessage, joinModal, joinReviewMessage, joinSentMessage } from "../views/join.ts";
import { plainReply } from "../views/replies.ts";
import {
  identify,
  replyError,
  replyTo,
  viaResponseUrl,
  type ListenerDeps,
  type Reply,
} from "./listener-kit.ts";
import { textOf } from "./view-state.ts";

/** Opens the form, unless the person already is a dbward user. */
export async function openJoinModal(
  deps: ListenerDeps,
  slackUserId: string,
  name: string,
  triggerId: string,
  reply: Reply,
): Promise<void> {
  try {
    const known = await authenticateSlackUser(deps.ctx, slackUserId);
    if (known !== undefined) {
      reply(plainReply(`You already are dbward user \`${known.user.id}\`. Try \`/dbward help\`.`));
      return;
    }
  } catch (err) {
    // A suspended user is refused here with the reason, like every other command.
    replyError(deps, reply, err);
    return;
  }
  await deps.calls.openView(triggerId, joinModal(deps.ctx.config().join_requests.allowed_roles, name));
}

export function registerJoin(app: App, deps: ListenerDeps): void {
  const ids = SLACK_IDS.inputs;
  app.view<ViewSubmitAction>(SLACK_IDS.views.join, async ({ ack, body, view }) => {
    const values = view.state.values;
    const name = textOf(values, ids.joinName.action)?.trim();
    const role = textOf(values, ids.joinRole.action);
    const reason = textOf(values, ids.joinReason.action)?.trim();
    const errors = {
      ...(name === undefined ? { [ids.joinName.block]: "Give your name." } : {}),
      ...(role === undefined ? { [ids.joinRole.block]: "Choose a role." } : {}),
      ...(reason === undefined ? { [ids.joinReason.block]: "Say why you need access." } : {}),
    };
    if (Object.keys(errors).length > 0) {
      await ack({ response_action: "errors", errors });
      return;
    }
    await ack();
    const email = textOf(values, ids.joinEmail.action)?.trim();
    const groups = (textOf(values, ids.joinGroups.action) ?? "")
      .split(",")
      .map((g) => g.trim())
      .filter((g) => g !== "");
    deps.afterAck.run(() =>
      submitJoin(deps, body, { name, email, requestedRole: role, groups, reason: reason ?? "" }),
    );
  });
  const decide = (actionId: string, decision: JoinDecision): void => {
    app.action<BlockButtonAction>(actionId, async ({ ack, body, action }) => {
      await ack();
      deps.afterAck.run(() => onDecide(deps, body, action.value, decision));
    });
  };
  decide(SLACK_IDS.actions.joinApprove, { kind: "approve" });
  decide(SLACK_IDS.actions.joinReject, { kind: "reject", reason: "Rejected by an admin in Slack." });
}

async function submitJoin(
  deps: ListenerDeps,
  body: ViewSubmitAction,
  form: {
    name: string | undefined;
    email: string | undefined;
    requestedRole: string | undefined;
    groups: string[];
    reason: string;
  },
): Promise<void> {
  const person = body.user.id;
  const reply = replyTo(deps, body.trigger_id, { via: "dm", user: person });
  try {
    const created = await createJoinRequest(deps.ctx, {
      slackUserId: person,
      name: form.name,
      ...(form.email !== undefined ? { email: form.email } : {}),
      requestedRole: form.requestedRole,
      groups: form.groups,
      reason: form.reason,
    });
    reply(joinSentMessage(created));
    await deps.home?.joinRequestsChanged();
    await notifyAdmins(deps, created);
  } catch (err) {
    replyError(deps, reply, err);
  }
}

/** Every active admin with a Slack id gets the review post by DM. */
async function notifyAdmins(deps: ListenerDeps, j: JoinRequestView): Promise<void> {
  const admins = (await listUsers(deps.ctx.store)).filter(
    (u) => u.status === "active" && u.roles.includes("admin") && u.slackUserId !== null,
  );
  if (admins.length === 0) {
    deps.logger.warn({ joinRequest: j.id }, "no admin has a Slack id; the join request waits for the API");
  }
  for (const admin of admins) {
    const to = admin.slackUserId;
    if (to === null) continue;
    deps.outbox.reply(`join:${j.id}:${to}`, { via: "dm", user: to }, joinReviewMessage(j));
  }
}

async function onDecide(
  deps: ListenerDeps,
  body: BlockButtonAction,
  value: string | undefined,
  decision: JoinDecision,
): Promise<void> {
  const url = body.response_url;
  const reply = replyTo(deps, body.trigger_id, viaResponseUrl(url, body.user.id));
  const caller = await identify(deps, body.user.id, reply);
  if (caller === undefined) return;
  try {
    if (value === undefined || !/^join_\S+$/.test(value))
      throw new DbwardError("request.invalid", "this button does not name a join request");
    const done = await decideJoinRequest(deps.ctx, caller, value, decision);
    await deps.home?.joinRequestsChanged();
    reply(
      plainReply(
        done.status === "approved"
          ? `You approved ${done.name}'s join request: they are user \`${done.user_id ?? "?"}\`.`
          : `You rejected ${done.name}'s join request.`,
      ),
    );
    deps.outbox.reply(
      `join:${done.id}:${done.slack_user_id}`,
      { via: "dm", user: done.slack_user_id },
      joinDecidedMessage(done),
    );
  } catch (err) {
    replyError(deps, reply, err);
  }
}
