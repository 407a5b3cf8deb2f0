/**
 * `/dbward admin` (admins only): the user list, adding a user (Slack id from the picker, name and
 * email from `users.info`), changing roles and groups, suspending and activating. Each change goes
 * through its use case, which audits it with the admin as actor; the list is redrawn with the
 * outcome, or with why it was refused, at the top.
 */
import { DbwardError, type UserView } from "@dbward/shared";
import type { App, BlockButtonAction, ViewSubmitAction } from "@slack/bolt";
import { ROLES } from "../../config/bot-config.ts";
import { activateUser } from "../../use-cases/activate-user.ts";
import { addUser } from "../../use-cases/add-user.ts";
import { actorOf, can, type UserCaller } from "../../use-cases/caller.ts";
import { getUserView, listUserViews } from "../../use-cases/list-users.ts";
import { recordDenial } from "../../use-cases/record-denial.ts";
import { suspendUser } from "../../use-cases/suspend-user.ts";
import { updateUser } from "../../use-cases/update-user.ts";
import { messageForError } from "../error-messages.ts";
import { SLACK_IDS } from "../ids.ts";
import { escapeMrkdwn } from "../slack-text.ts";
import { addUserModal, adminModal, editUserModal } from "../views/admin.ts";
import {
  identify,
  parseMetadata,
  replyError,
  replyTo,
  type ListenerDeps,
  type Reply,
} from "./listener-kit.ts";
import { textOf, valueOf, type ViewValues } from "./view-state.ts";

const SLACK_REASON = "changed by an admin in Slack";

/** The list, for an admin; anyone else is refused (and the refusal audited). */
export async function openAdminModal(
  deps: ListenerDeps,
  caller: UserCaller,
  triggerId: string,
  reply: Reply,
): Promise<void> {
  try {
    if (!can(caller, "user.manage")) {
      await recordDenial(deps.ctx, {
        actor: actorOf(caller),
        action: "user.admin_refused",
        target: "",
        error: new DbwardError(
          "auth.forbidden",
          `\`/dbward admin\` is for admins; your roles (${caller.user.roles.join(", ") || "none"}) do not allow user.manage`,
        ),
      });
    }
    await deps.calls.openView(triggerId, adminModal(await listUserViews(deps.ctx, caller)));
  } catch (err) {
    replyError(deps, reply, err);
  }
}

export function registerAdmin(app: App, deps: ListenerDeps): void {
  const inModal = (actionId: string, work: ModalWork): void => {
    app.action<BlockButtonAction>(actionId, async ({ ack, body, action }) => {
      await ack();
      deps.afterAck.run(() => onModalButton(deps, body, action.value ?? "", work));
    });
  };
  inModal(SLACK_IDS.actions.adminAdd, async ({ body, root }) => {
    await deps.calls.pushView(body.trigger_id, addUserModal(ROLES, { root }));
    return undefined;
  });
  inModal(SLACK_IDS.actions.adminEdit, async ({ body, root, caller, value }) => {
    const user = await getUserView(deps.ctx, caller, value);
    await deps.calls.pushView(body.trigger_id, editUserModal(user, ROLES, { root, userId: user.id }));
    return undefined;
  });
  inModal(SLACK_IDS.actions.adminSuspend, async ({ caller, value }) => {
    await suspendUser(deps.ctx, caller, value, SLACK_REASON);
    return `Suspended \`${value}\`.`;
  });
  inModal(SLACK_IDS.actions.adminActivate, async ({ caller, value }) => {
    await activateUser(deps.ctx, caller, value, SLACK_REASON);
    return `Activated \`${value}\`.`;
  });

  app.view<ViewSubmitAction>(SLACK_IDS.views.adminAdd, async ({ ack, body, view }) => {
    const slackUserId = valueOf(view.state.values, SLACK_IDS.inputs.adminSlackUser.action)?.selected_user;
    const roles = rolesOf(view.state.values);
    const errors = {
      ...(typeof slackUserId !== "string" || slackUserId === ""
        ? { [SLACK_IDS.inputs.adminSlackUser.block]: "Pick the person to add." }
        : {}),
      ...(roles.length === 0 ? { [SLACK_IDS.inputs.adminRoles.block]: "Give at least one role." } : {}),
    };
    if (Object.keys(errors).length > 0 || typeof slackUserId !== "string") {
      await ack({ response_action: "errors", errors });
      return;
    }
    await ack();
    const name = textOf(view.state.values, SLACK_IDS.inputs.adminName.action)?.trim();
    const groups = groupsOf(view.state.values);
    deps.afterAck.run(() =>
      onSubmit(deps, body, async (caller) => {
        const profile = await deps.calls.profile(slackUserId);
        const chosenName = name ?? profile?.name;
        if (chosenName === undefined)
          throw new DbwardError(
            "request.invalid",
            `Slack did not give a name for <@${slackUserId}>; type one in the Name field`,
          );
        const added = await addUser(deps.ctx, caller, {
          name: chosenName,
          ...(profile?.email !== undefined ? { email: profile.email } : {}),
          slack_user_id: slackUserId,
          roles,
          groups,
        });
        return `Added *${escapeMrkdwn(added.name)}* as \`${added.id}\` (${added.roles.join(", ")}).`;
      }),
    );
  });

  app.view<ViewSubmitAction>(SLACK_IDS.views.adminEdit, async ({ ack, body, view }) => {
    const roles = rolesOf(view.state.values);
    if (roles.length === 0) {
      await ack({
        response_action: "errors",
        errors: { [SLACK_IDS.inputs.adminRoles.block]: "Give at least one role." },
      });
      return;
    }
    await ack();
    const groups = groupsOf(view.state.values);
    const userId = parseMetadata(view.private_metadata).userId;
    deps.afterAck.run(() =>
      onSubmit(deps, body, async (caller) => {
        if (typeof userId !== "string")
          throw new DbwardError("request.invalid", "this form does not name a user");
        const changed = await updateUser(deps.ctx, caller, userId, { roles, groups });
        const shownGroups = changed.groups.join(", ") || "none";
        return `Saved \`${changed.id}\`: roles ${changed.roles.join(", ")}; groups ${escapeMrkdwn(shownGroups)}.`;
      }),
    );
  });
}

type ModalWork = (a: {
  body: BlockButtonAction;
  caller: UserCaller;
  value: string;
  root: string;
}) => Promise<string | undefined>;

/** A button in the list: do the work, then redraw the list with what happened. */
async function onModalButton(
  deps: ListenerDeps,
  body: BlockButtonAction,
  value: string,
  work: ModalWork,
): Promise<void> {
  const reply = replyTo(deps, body.trigger_id, { via: "dm", user: body.user.id });
  const caller = await identify(deps, body.user.id, reply);
  const view = body.view;
  if (caller === undefined || view === undefined) return;
  let notice: string | undefined;
  try {
    notice = await work({ body, caller, value, root: view.id });
  } catch (err) {
    notice = refusal(deps, err);
  }
  if (notice !== undefined) await redraw(deps, caller, view.id, notice);
}

/** A stacked form was submitted (ack closed it): do the work, then redraw the list under it. */
async function onSubmit(
  deps: ListenerDeps,
  body: ViewSubmitAction,
  work: (caller: UserCaller) => Promise<string>,
): Promise<void> {
  const reply = replyTo(deps, body.trigger_id, { via: "dm", user: body.user.id });
  const caller = await identify(deps, body.user.id, reply);
  if (caller === undefined) return;
  const root = parseMetadata(body.view.private_metadata).root;
  let notice: string;
  try {
    notice = `:white_check_mark: ${await work(caller)}`;
  } catch (err) {
    notice = refusal(deps, err);
  }
  if (typeof root === "string") await redraw(deps, caller, root, notice);
  else reply({ text: notice, blocks: [] });
}

function refusal(deps: ListenerDeps, err: unknown): string {
  const reference = `ref-${deps.ctx.random.secret(6)}`;
  if (!(err instanceof DbwardError) || err.code === "internal")
    deps.logger.error({ err, reference }, "Slack admin action failed");
  return `:no_entry: ${messageForError(err, reference)}`;
}

async function redraw(deps: ListenerDeps, caller: UserCaller, viewId: string, notice: string): Promise<void> {
  let users: UserView[] = [];
  try {
    users = await listUserViews(deps.ctx, caller);
  } catch (err) {
    notice = `${notice}\n${refusal(deps, err)}`;
  }
  await deps.calls.updateView(viewId, undefined, adminModal(users, notice));
}

function rolesOf(values: ViewValues): string[] {
  const v = valueOf(values, SLACK_IDS.inputs.adminRoles.action);
  return (v?.selected_options ?? []).map((o) => o.value);
}

function groupsOf(values: ViewValues): string[] {
  return (textOf(values, SLACK_IDS.inputs.adminGroups.action) ?? "")
    .split(",")
    .map((g) => g.trim())
    .filter((g) => g !== "");
}
