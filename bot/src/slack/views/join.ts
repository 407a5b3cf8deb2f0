/**
 * Asking to join: the form a person not yet known fills in, the review post admins get with
 * Approve and Reject, and the DMs that tell the person the outcome.
 */
import type { JoinRequestView } from "@dbward/shared";
import type { types } from "@slack/bolt";
import { SLACK_IDS } from "../ids.ts";
import { escapeMrkdwn, truncate } from "../slack-text.ts";
import { button, fields, option, plain, section, type Block, type SlackMessage } from "./blocks.ts";

export function joinModal(allowedRoles: readonly string[], name: string): types.ModalView {
  const ids = SLACK_IDS.inputs;
  const roles = allowedRoles.map((r) => option(r, r));
  const first = roles[0];
  return {
    type: "modal",
    callback_id: SLACK_IDS.views.join,
    title: plain("Join dbward", 24),
    submit: plain("Ask to join"),
    close: plain("Cancel"),
    blocks: [
      section("An admin reviews this and you are told by DM either way."),
      {
        type: "input",
        block_id: ids.joinName.block,
        label: plain("Your name"),
        element: {
          type: "plain_text_input",
          action_id: ids.joinName.action,
          max_length: 100,
          ...(name.trim() !== "" ? { initial_value: truncate(name.trim(), 100) } : {}),
        },
      },
      {
        type: "input",
        block_id: ids.joinEmail.block,
        optional: true,
        label: plain("Email"),
        element: { type: "email_text_input", action_id: ids.joinEmail.action },
      },
      {
        type: "input",
        block_id: ids.joinRole.block,
        label: plain("Role"),
        element: {
          type: "static_select",
          action_id: ids.joinRole.action,
          placeholder: plain("Choose a role"),
          options: roles,
          ...(roles.length === 1 && first !== undefined ? { initial_option: first } : {}),
        },
      },
      {
        type: "input",
        block_id: ids.joinGroups.block,
        optional: true,
        label: plain("Groups"),
        hint: plain("Comma-separated, e.g. payments, support"),
        element: { type: "plain_text_input", action_id: ids.joinGroups.action, max_length: 500 },
      },
      {
        type: "input",
        block_id: ids.joinReason.block,
        label: plain("Why do you need access?"),
        element: {
          type: "plain_text_input",
          action_id: ids.joinReason.action,
          multiline: true,
          max_length: 500,
        },
      },
    ],
  };
}

/** The post each admin gets; the buttons carry the join request's id. */
export function joinReviewMessage(j: JoinRequestView): SlackMessage {
  const who = `${escapeMrkdwn(j.name)} (<@${j.slack_user_id}>)`;
  return {
    text: `${j.name} asks to join dbward as ${j.requested_role}`,
    blocks: [
      section(`*Join request* · ${who} asks to join dbward.`),
      fields([
        ["Role", escapeMrkdwn(j.requested_role)],
        ["Email", escapeMrkdwn(j.email ?? "—")],
        ["Groups", escapeMrkdwn(j.groups.join(", ") || "—")],
        ["Expires", j.expires_at],
      ]),
      section(`*Reason*\n${escapeMrkdwn(j.reason)}`),
      joinDecisionButtons(j),
    ],
  };
}

/** Approve and Reject for one join request: the same two buttons in the DM and on the Home tab. */
export function joinDecisionButtons(j: JoinRequestView): Block {
  return {
    type: "actions",
    block_id: `join-${j.id}`,
    elements: [
      button("Approve", SLACK_IDS.actions.joinApprove, j.id, "primary"),
      button("Reject", SLACK_IDS.actions.joinReject, j.id, "danger"),
    ],
  };
}

export function joinSentMessage(j: JoinRequestView): SlackMessage {
  const text = `You asked to join dbward as ${j.requested_role}. An admin will decide; you will be told here.`;
  return { text, blocks: [section(escapeMrkdwn(text))] };
}

/** What the person is told once an admin decided. */
export function joinDecidedMessage(j: JoinRequestView): SlackMessage {
  const text =
    j.status === "approved"
      ? `Your request to join dbward was approved: you are user \`${j.user_id ?? "?"}\` (${j.requested_role}). Try \`/dbward help\`.`
      : `Your request to join dbward was rejected${j.decision_reason !== null ? `: ${escapeMrkdwn(j.decision_reason)}` : "."}`;
  return { text, blocks: [section(text)] };
}
