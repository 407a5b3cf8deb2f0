/**
 * Modal submissions: the query form, the review modal (with the selector an approver approves
 * as, when they had a choice) and the reject modal. A form with a missing required answer is
 * sent back with the field marked (that ack carries the errors); otherwise ack closes the modal
 * and the outcome arrives privately.
 */
import { DbwardError, parseRequestId } from "@dbward/shared";
import type { AckFn, App, ViewResponseAction, ViewSubmitAction } from "@slack/bolt";
import { parseNotBefore } from "../../core/run-schedule.ts";
import type { UserCaller } from "../../use-cases/caller.ts";
import { createRequest } from "../../use-cases/create-request.ts";
import { decideRequest, type Decision } from "../../use-cases/decide-request.ts";
import { approveOrStepUp } from "../../use-cases/step-up-start.ts";
import type { QueryDraft } from "../command-parser.ts";
import { SLACK_IDS } from "../ids.ts";
import { sqlBlocks } from "../views/blocks.ts";
import type { QueryMetadata } from "../views/modals.ts";
import { createdMessage, plainReply } from "../views/replies.ts";
import { stepUpLinkMessage } from "../views/step-up-message.ts";
import {
  cardFor,
  identify,
  parseMetadata,
  replyError,
  replyInChannelOrDm,
  replyTo,
  type ListenerDeps,
  type Reply,
} from "./listener-kit.ts";
import { dateTimeOf, queryDraftOf, queryMetadataOf, textOf } from "./view-state.ts";

type Ack = AckFn<ViewResponseAction>;

export function registerViews(app: App, deps: ListenerDeps): void {
  app.view<ViewSubmitAction>(SLACK_IDS.views.query, async ({ ack, body, view }) => {
    const draft = queryDraftOf(view.state.values);
    const errors = {
      ...(draft.sql === undefined ? { [SLACK_IDS.inputs.sql.block]: "Write the SQL to run." } : {}),
      ...(draft.reason === undefined
        ? { [SLACK_IDS.inputs.reason.block]: "Say why this needs to run." }
        : {}),
    };
    const meta = queryMetadataOf(view);
    if (await ackOrErrors(ack, errors)) deps.afterAck.run(() => submitQuery(deps, body, draft, meta));
  });
  app.view<ViewSubmitAction>(SLACK_IDS.views.review, async ({ ack, body, view }) => {
    const values = view.state.values;
    const approve = textOf(values, SLACK_IDS.inputs.decision.action) === SLACK_IDS.decisions.approve;
    const comment = textOf(values, SLACK_IDS.inputs.comment.action)?.trim();
    // Shown only to an approver with a choice; whatever it names, decideRequest re-checks it.
    const as = textOf(values, SLACK_IDS.inputs.approveAs.action);
    // Only an approval carries a window; checked here so a bad one comes back onto the form.
    const notBefore = approve ? dateTimeOf(values, SLACK_IDS.inputs.notBefore.action) : undefined;
    const window = notBefore === undefined ? undefined : parseNotBefore(notBefore, deps.ctx.clock.now());
    const errors = {
      ...(!approve && comment === undefined
        ? { [SLACK_IDS.inputs.comment.block]: "A rejection needs a reason: say what should change." }
        : {}),
      ...(window !== undefined && !window.ok ? { [SLACK_IDS.inputs.notBefore.block]: window.why } : {}),
    };
    const decision: Decision = approve
      ? {
          kind: "approve",
          ...(comment !== undefined ? { comment } : {}),
          ...(as !== undefined ? { as } : {}),
          ...(notBefore !== undefined ? { notBefore } : {}),
        }
      : { kind: "reject", reason: comment ?? "" };
    if (await ackOrErrors(ack, errors)) deps.afterAck.run(() => decide(deps, body, decision));
  });
  app.view<ViewSubmitAction>(SLACK_IDS.views.reject, async ({ ack, body, view }) => {
    const reason = textOf(view.state.values, SLACK_IDS.inputs.comment.action)?.trim();
    const errors =
      reason === undefined
        ? { [SLACK_IDS.inputs.comment.block]: "A rejection needs a reason: say what should change." }
        : {};
    if (await ackOrErrors(ack, errors)) {
      deps.afterAck.run(() => decide(deps, body, { kind: "reject", reason: reason ?? "" }));
    }
  });
}

async function submitQuery(
  deps: ListenerDeps,
  body: ViewSubmitAction,
  draft: QueryDraft,
  meta: QueryMetadata,
): Promise<void> {
  const { database, environment, sql, reason } = draft;
  const rerun = meta.rerunOf !== undefined ? { rerun_of: meta.rerunOf } : {};
  const reply = replyTo(deps, body.trigger_id, { via: "dm", user: body.user.id });
  const caller = await identify(deps, body.user.id, reply);
  if (caller === undefined) return;
  try {
    const created = await createRequest(deps.ctx, caller, { database, environment, sql, reason, ...rerun });
    reply(createdMessage(await cardFor(deps.ctx, created.id)));
  } catch (err) {
    replyError(deps, reply, err);
    // The typed SQL is not lost with the refused form: it comes back with the reason.
    if (sql !== undefined)
      reply({ text: "Your SQL, to fix and send again:", blocks: sqlBlocks(sql, 10, "") });
  }
}

/** Acks; with errors, acks them back onto the form and answers false. */
async function ackOrErrors(ack: Ack, errors: Record<string, string>): Promise<boolean> {
  if (Object.keys(errors).length > 0) {
    await ack({ response_action: "errors", errors });
    return false;
  }
  await ack();
  return true;
}

async function decide(deps: ListenerDeps, body: ViewSubmitAction, decision: Decision): Promise<void> {
  const meta = parseMetadata(body.view.private_metadata);
  const channel = typeof meta.channel === "string" ? meta.channel : undefined;
  const reply: Reply = replyInChannelOrDm(deps, body.trigger_id, body.user.id, channel);
  const caller: UserCaller | undefined = await identify(deps, body.user.id, reply);
  if (caller === undefined) return;
  try {
    const id = parseRequestId(meta.requestId);
    if (id === undefined) throw new DbwardError("request.invalid", "this form does not name a request");
    if (decision.kind === "approve") {
      // Under step-up the approval waits for the fresh sign-in the link starts.
      const asked = {
        ...(decision.comment !== undefined ? { comment: decision.comment } : {}),
        ...(decision.as !== undefined ? { as: decision.as } : {}),
        ...(decision.notBefore !== undefined ? { notBefore: decision.notBefore } : {}),
      };
      const outcome = await approveOrStepUp(deps.ctx, caller, id, asked);
      reply(
        outcome.kind === "step_up"
          ? stepUpLinkMessage(id, outcome.url, outcome.minutes)
          : plainReply(`You approved request #${outcome.request.id}.`),
      );
      return;
    }
    const done = await decideRequest(deps.ctx, caller, id, decision);
    const verb = "rejected";
    reply(plainReply(`You ${verb} request #${done.id}.`));
  } catch (err) {
    replyError(deps, reply, err);
  }
}
