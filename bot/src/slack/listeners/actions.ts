/**
 * Buttons and selects: Review, Approve and Reject on a request's message, Run again on a finished
 * one, Run now on an approved one that waits for its requester, and the database select of the
 * query form. Ack at once; refusals come back privately and change nothing (the use case has
 * audited them).
 */
import { DbwardError, parseRequestId, type RequestId } from "@dbward/shared";
import type { App, BlockAction, BlockButtonAction, BlockStaticSelectAction } from "@slack/bolt";
import type { UserCaller } from "../../use-cases/caller.ts";
import { approveOrStepUp } from "../../use-cases/step-up-start.ts";
import { findRerunnable } from "../../use-cases/find-rerunnable.ts";
import { listRequestableTargets } from "../../use-cases/list-requestable-targets.ts";
import { getRequest } from "../../use-cases/read-requests.ts";
import { runRequest } from "../../use-cases/run-request.ts";
import { snoozeReminder } from "../../use-cases/snooze-reminder.ts";
import { listApproveAsChoices } from "../../use-cases/list-approve-as-choices.ts";
import { SLACK_IDS } from "../ids.ts";
import {
  MAX_INPUT_CHARS,
  queryModal,
  rejectModal,
  reviewModal,
  type DecisionMetadata,
} from "../views/modals.ts";
import { plainReply } from "../views/replies.ts";
import { stepUpLinkMessage } from "../views/step-up-message.ts";
import {
  cardFor,
  identify,
  replyError,
  replyTo,
  viaResponseUrl,
  type ListenerDeps,
  type Reply,
} from "./listener-kit.ts";
import { queryDraftOf, queryMetadataOf } from "./view-state.ts";

export function registerActions(app: App, deps: ListenerDeps): void {
  const button = (
    actionId: string,
    work: (deps: ListenerDeps, body: BlockButtonAction) => ButtonWork,
  ): void => {
    app.action<BlockButtonAction>(actionId, async ({ ack, body, action }) => {
      await ack();
      deps.afterAck.run(() => onButton(deps, body, action.value, work(deps, body)));
    });
  };
  button(SLACK_IDS.actions.approve, approve);
  button(SLACK_IDS.actions.reject, openRejectModal);
  button(SLACK_IDS.actions.review, openReviewModal);
  button(SLACK_IDS.actions.snoozeReminder, snooze);
  button(SLACK_IDS.actions.runAgain, openRunAgainModal);
  button(SLACK_IDS.actions.runNow, runNow);
  app.action<BlockStaticSelectAction>(SLACK_IDS.actions.queryDatabase, async ({ ack, body }) => {
    await ack();
    deps.afterAck.run(() => refreshQueryModal(deps, body));
  });
}

/** Approve; under step-up the click answers privately with the sign-in link instead. */
const approve =
  (deps: ListenerDeps, body: BlockButtonAction): ButtonWork =>
  async (caller, id) => {
    const outcome = await approveOrStepUp(deps.ctx, caller, id, {});
    if (outcome.kind === "step_up") replyFor(deps, body)(stepUpLinkMessage(id, outcome.url, outcome.minutes));
  };

/** "Run now" on an approved request that waits for its requester; run-request.ts decides. */
const runNow =
  (deps: ListenerDeps, body: BlockButtonAction): ButtonWork =>
  async (caller, id) => {
    const ran = await runRequest(deps.ctx, caller, id);
    replyFor(
      deps,
      body,
    )(
      plainReply(
        ran.status === "dispatched"
          ? `Request #${id} is on its way to an agent; its result comes here when it has run.`
          : `Request #${id} runs no earlier than ${ran.notBefore ?? "its approvers' window"}.`,
      ),
    );
  };

/** "Snooze 1h" on a reminder DM: no reminders to the caller about the request for an hour. */
const snooze =
  (deps: ListenerDeps, body: BlockButtonAction): ButtonWork =>
  async (caller, id) => {
    await snoozeReminder(deps.ctx, caller, id);
    replyFor(deps, body)(plainReply(`Snoozed: no reminders about request #${id} for the next hour.`));
  };

/** The reject form, once the caller is shown to be allowed to see the request. */
const openRejectModal =
  (deps: ListenerDeps, body: BlockButtonAction): ButtonWork =>
  async (caller, id) => {
    await getRequest(deps.ctx, caller, id);
    await deps.calls.openView(
      body.trigger_id,
      rejectModal(await cardFor(deps.ctx, id), metadataOf(body, id)),
    );
  };

/**
 * The review form; for an approver who matches several selectors the step still needs, with the
 * choice of which one they approve as (listApproveAsChoices also checks they may see the request).
 */
const openReviewModal =
  (deps: ListenerDeps, body: BlockButtonAction): ButtonWork =>
  async (caller, id) => {
    const approveAs = await listApproveAsChoices(deps.ctx, caller, id);
    const card = await cardFor(deps.ctx, id);
    await deps.calls.openView(body.trigger_id, reviewModal(card, metadataOf(body, id), approveAs));
  };

/**
 * Run again: the query form prefilled from a finished request of the caller's, to edit and send
 * as a new request (which goes through its workflow; the form only remembers the link).
 */
const openRunAgainModal =
  (deps: ListenerDeps, body: BlockButtonAction): ButtonWork =>
  async (caller, id) => {
    const original = await findRerunnable(deps.ctx, caller, id);
    if (original.sql.length > MAX_INPUT_CHARS) {
      const reply = replyFor(deps, body);
      reply(
        plainReply(
          `Request #${id}'s SQL is longer than the form can hold (${MAX_INPUT_CHARS} characters): ` +
            `run it again with \`dbward request rerun ${id}\`.`,
        ),
      );
      return;
    }
    const { database, environment, sql, reason } = original;
    const targets = listRequestableTargets(deps.ctx, caller);
    await deps.calls.openView(
      body.trigger_id,
      queryModal(targets, { database, environment, sql, reason }, { rerunOf: id }),
    );
  };

/** The query form's database changed: redraw it with that database's environments. */
async function refreshQueryModal(deps: ListenerDeps, body: BlockStaticSelectAction): Promise<void> {
  const reply = replyTo(deps, body.trigger_id, { via: "dm", user: body.user.id });
  const caller = await identify(deps, body.user.id, reply);
  if (caller === undefined || body.view === undefined) return;
  try {
    const draft = queryDraftOf(body.view.state.values);
    const view = queryModal(listRequestableTargets(deps.ctx, caller), draft, queryMetadataOf(body.view));
    await deps.calls.updateView(body.view.id, body.view.hash, view);
  } catch (err) {
    replyError(deps, reply, err);
  }
}

type ButtonWork = (caller: UserCaller, id: RequestId) => Promise<void>;

async function onButton(
  deps: ListenerDeps,
  body: BlockAction,
  value: string | undefined,
  work: ButtonWork,
): Promise<void> {
  const reply = replyFor(deps, body);
  const caller = await identify(deps, body.user.id, reply);
  if (caller === undefined) return;
  try {
    const id = parseRequestId(value);
    if (id === undefined) throw new DbwardError("request.invalid", "this button does not name a request");
    await work(caller, id);
  } catch (err) {
    replyError(deps, reply, err);
  }
}

/** Private answers to a click: through its `response_url` on a message, else by DM. */
function replyFor(deps: ListenerDeps, body: BlockAction): Reply {
  return replyTo(deps, body.trigger_id, viaResponseUrl(body.response_url, body.user.id));
}

function metadataOf(body: BlockAction, requestId: number): DecisionMetadata {
  const channel = body.channel?.id;
  return { requestId, ...(channel !== undefined ? { channel } : {}) };
}
