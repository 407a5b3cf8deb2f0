/**
 * `/dbward admin`: the users with their roles and status, with Edit and Suspend/Activate on each,
 * and the forms to add a user and to change one's roles and groups. The outcome of each change
 * (or why it was refused) shows at the top of the list.
 */
import type { UserView } from "@dbward/shared";
import type { types } from "@slack/bolt";
import { SLACK_IDS } from "../ids.ts";
import { escapeMrkdwn } from "../slack-text.ts";
import { LIMITS, button, context, divider, option, plain, section, type Block } from "./blocks.ts";

/** What the stacked forms remember: the list to refresh, and for an edit, whom. */
export interface AdminMetadata {
  readonly root: string;
  readonly userId?: string;
}

/** Users shown in the list; each takes two blocks, and Slack allows 100 in a modal. */
export const MAX_LISTED_USERS = 45;

export function adminModal(users: readonly UserView[], notice?: string): types.ModalView {
  const blocks: Block[] = [];
  if (notice !== undefined) blocks.push(section(notice), divider());
  blocks.push({
    type: "actions",
    elements: [button("Add a user", SLACK_IDS.actions.adminAdd, "add", "primary")],
  });
  for (const u of users.slice(0, MAX_LISTED_USERS)) {
    const slack = u.slack_user_id !== null ? ` · <@${u.slack_user_id}>` : "";
    const groups = u.groups.length > 0 ? ` · groups: ${escapeMrkdwn(u.groups.join(", "))}` : "";
    const status = u.status === "active" ? "active" : `*${u.status}*`;
    blocks.push(
      section(
        `*${escapeMrkdwn(u.name)}* \`${u.id}\`${slack}\n${escapeMrkdwn(u.roles.join(", ") || "no role")} · ${status}${groups} · ${u.source}`,
      ),
      {
        type: "actions",
        block_id: `user-${u.id}`.slice(0, 255),
        elements: [
          button("Edit", SLACK_IDS.actions.adminEdit, u.id),
          u.status === "active"
            ? button("Suspend", SLACK_IDS.actions.adminSuspend, u.id, "danger")
            : button("Activate", SLACK_IDS.actions.adminActivate, u.id),
        ],
      },
    );
  }
  if (users.length > MAX_LISTED_USERS)
    blocks.push(
      context(
        `${users.length - MAX_LISTED_USERS} more users are not shown; \`GET /api/users\` has them all.`,
      ),
    );
  return {
    type: "modal",
    callback_id: SLACK_IDS.views.admin,
    title: plain("dbward users", LIMITS.modalTitle),
    close: plain("Close"),
    blocks: blocks.slice(0, LIMITS.modalBlocks),
  };
}

function rolesInput(roles: readonly string[], initial: readonly string[]): Block {
  const ids = SLACK_IDS.inputs.adminRoles;
  const chosen = roles.filter((r) => initial.includes(r)).map((r) => option(r, r));
  return {
    type: "input",
    block_id: ids.block,
    label: plain("Roles"),
    element: {
      type: "multi_static_select",
      action_id: ids.action,
      placeholder: plain("Choose roles"),
      options: roles.map((r) => option(r, r)),
      ...(chosen.length > 0 ? { initial_options: chosen } : {}),
    },
  };
}

function groupsInput(initial: readonly string[]): Block {
  const ids = SLACK_IDS.inputs.adminGroups;
  return {
    type: "input",
    block_id: ids.block,
    optional: true,
    label: plain("Groups"),
    hint: plain("Comma-separated, e.g. payments, support"),
    element: {
      type: "plain_text_input",
      action_id: ids.action,
      max_length: 500,
      ...(initial.length > 0 ? { initial_value: initial.join(", ") } : {}),
    },
  };
}

export function addUserModal(roles: readonly string[], meta: AdminMetadata): types.ModalView {
  const ids = SLACK_IDS.inputs;
  return {
    type: "modal",
    callback_id: SLACK_IDS.views.adminAdd,
    private_metadata: JSON.stringify(meta),
    title: plain("Add a user", LIMITS.modalTitle),
    submit: plain("Add"),
    close: plain("Back"),
    blocks: [
      {
        type: "input",
        block_id: ids.adminSlackUser.block,
        label: plain("Slack user"),
        element: {
          type: "users_select",
          action_id: ids.adminSlackUser.action,
          placeholder: plain("Pick someone"),
        },
      },
      {
        type: "input",
        block_id: ids.adminName.block,
        optional: true,
        label: plain("Name"),
        hint: plain("Leave empty to take it from their Slack profile."),
        element: { type: "plain_text_input", action_id: ids.adminName.action, max_length: 100 },
      },
      rolesInput(roles, ["requester"]),
      groupsInput([]),
    ],
  };
}

export function editUserModal(
  user: UserView,
  roles: readonly string[],
  meta: AdminMetadata,
): types.ModalView {
  return {
    type: "modal",
    callback_id: SLACK_IDS.views.adminEdit,
    private_metadata: JSON.stringify(meta),
    title: plain("Edit a user", LIMITS.modalTitle),
    submit: plain("Save"),
    close: plain("Back"),
    blocks: [
      section(`*${escapeMrkdwn(user.name)}* \`${user.id}\` · ${user.source}`),
      rolesInput(roles, user.roles),
      groupsInput(user.groups),
    ],
  };
}
