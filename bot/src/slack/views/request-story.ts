/**
 * The short messages that tell a request's story: one thread reply under the channel post per
 * change, and the DM the requester gets when their request is decided or finished.
 */
import { isFinalStatus } from "@dbward/shared";
import { escapeMrkdwn, truncate } from "../slack-text.ts";
import { plainStatus, runAgainButtons, runNowButton, waitsForRequester } from "./approval-message.ts";
import { section, type SlackMessage } from "./blocks.ts";
import {
  STATUS_LABELS,
  actorName,
  executionSummary,
  statusLabel,
  target,
  whoMustApprove,
  type RequestCard,
} from "./request-card.ts";

/** The thread reply for one committed change; undefined for the change that created the post. */
export function threadStep(card: RequestCard, action: string, actor: string): SlackMessage | undefined {
  const r = card.request;
  const who = actorName(card, actor);
  const reason = escapeMrkdwn(truncate(r.status_reason ?? "", 500));
  let text: string;
  switch (action) {
    // A plan shows on the post and the approvers' DMs, redrawn in place: no thread noise.
    case "request.preflight_finished":
    case "request.created":
    case "request.break_glass":
      return undefined;
    case "request.approved": {
      // Under step-up no approval counts without a fresh sign-in (decide-request.ts).
      const how = r.workflow.step_up === "oidc" ? " with fresh sign-in" : "";
      text =
        r.status === "pending_approval"
          ? `:white_check_mark: ${who} approved${how}. Still needed: ${whoMustApprove(card)}.`
          : `:white_check_mark: ${who} approved${how}. All approvals are in: ${plainStatus(r.status).toLowerCase()}.`;
      break;
    }
    case "request.rejected":
      text = `:no_entry: ${who} rejected it: ${reason}`;
      break;
    case "request.cancelled":
      text = `:heavy_minus_sign: ${who} cancelled it${reason ? `: ${reason}` : "."}`;
      break;
    case "request.expired":
      text = `:zzz: Expired: ${reason || "no decision in time"}.`;
      break;
    case "request.steps_waived": {
      const waived = r.workflow.steps.filter((s) => s.waived_for_rows !== null);
      const rows = waived[0]?.waived_for_rows ?? 0;
      text =
        r.status === "pending_approval"
          ? `:fast_forward: The dry run counted ${rows.toLocaleString("en-US")} row(s): ${waived.map((s) => escapeMrkdwn(s.name)).join(", ")} not needed. Still needed: ${whoMustApprove(card)}.`
          : `:fast_forward: The dry run counted ${rows.toLocaleString("en-US")} row(s): no further approval needed; ${plainStatus(r.status).toLowerCase()}.`;
      break;
    }
    case "request.escalated":
      text = `:arrow_up: Escalated to ${escalatedTo(r)}: the step waited too long. Still needed: ${whoMustApprove(card)}.`;
      break;
    case "request.dispatch_timed_out":
      text =
        ":hourglass: No agent picked it up in time; it is offered again as soon as a capable agent asks.";
      break;
    case "request.run_requested":
      text =
        r.status === "dispatched"
          ? `:arrow_forward: ${who} asked to run it: it is on its way to an agent.`
          : `:arrow_forward: ${who} asked to run it${notBeforeNote(r)}.`;
      break;
    case "request.claimed":
      text = `:gear: ${who} started running it.`;
      break;
    case "request.finished":
    case "request.lost":
      text = `${statusLabel(r)}${summary(card)}`;
      break;
    default:
      text = `${STATUS_LABELS[r.status]} (${escapeMrkdwn(action)} by ${who})`;
  }
  return { text, blocks: [section(text)] };
}

/** The requester's DM after a change, or undefined when this change is not one they hear about. */
export function requesterNotice(card: RequestCard, action: string, actor: string): SlackMessage | undefined {
  const r = card.request;
  const head = `Your request #${r.id} (${r.operation} on ${target(r)})`;
  const who = actorName(card, actor);
  let text: string;
  if (action === "request.approved" && waitsForRequester(r)) {
    const until = r.run_schedule.run_by === null ? "" : ` before ${r.run_schedule.run_by}`;
    text = `:white_check_mark: ${head} was approved by ${who}. It waits for you: press Run now when it should run${until}${notBeforeNote(r)}, or \`dbward request run ${r.id}\`.`;
    return {
      text,
      blocks: [
        section(text),
        { type: "actions", block_id: `run-now-${r.id}`, elements: [runNowButton(r.id)] },
      ],
    };
  } else if (action === "request.approved" && r.status !== "pending_approval") {
    text = `:white_check_mark: ${head} was approved by ${who}. It runs ${r.status === "approved" && r.run_schedule.not_before !== null ? `no earlier than ${r.run_schedule.not_before}, when an agent picks it up` : "as soon as an agent picks it up"}.`;
  } else if (action === "request.rejected") {
    text = `:no_entry: ${head} was rejected by ${who}: ${escapeMrkdwn(truncate(r.status_reason ?? "", 1000))}\nChange what they asked for and make a new request.`;
  } else if (action === "request.expiry_warned" && r.status === "pending_approval") {
    text = `:hourglass_flowing_sand: ${head} expires soon unless it is approved. Still needed: ${whoMustApprove(card)}.`;
  } else if (action === "request.finished" || action === "request.lost") {
    text = `${statusLabel(r)} — ${head}${summary(card)}`;
    if (r.status === "succeeded" && r.operation === "read") text += "\nThe result follows.";
  } else {
    return undefined;
  }
  // Only the requester gets this DM, so only they are offered Run again (issue 13).
  const again = isFinalStatus(r.status) ? [runAgainButtons(r.id)] : [];
  return { text, blocks: [section(text), ...again] };
}

/**
 * What happened, from the latest execution; a request that ended without running (refused at the
 * claim, e.g. its execution limit was reached) says why from its status reason instead.
 */
function summary(card: RequestCard): string {
  const s = executionSummary(card.request);
  if (s !== undefined) return `: ${s}.`;
  const reason = card.request.status_reason;
  return reason === null || reason === undefined || reason === ""
    ? "."
    : `: ${escapeMrkdwn(truncate(reason, 1000))}`;
}

/** The escalation targets of the waiting step (or of any step, once none waits). */
function escalatedTo(r: RequestCard["request"]): string {
  const step = r.workflow.current_step === null ? undefined : r.workflow.steps[r.workflow.current_step];
  const to = step?.escalated_to ?? r.workflow.steps.flatMap((s) => s.escalated_to);
  return to.length > 0 ? to.map((s) => `\`${escapeMrkdwn(s)}\``).join(", ") : "more approvers";
}

/** ", no earlier than T" while an approver's window holds it back; empty otherwise. */
function notBeforeNote(r: RequestCard["request"]): string {
  const at = r.run_schedule.not_before;
  return at !== null && r.status === "approved" ? `, no earlier than ${at}` : "";
}
