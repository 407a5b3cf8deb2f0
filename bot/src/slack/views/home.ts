/**
 * The dbward Home tab, one per person: what waits for their decision, with the same Review /
 * Approve / Reject buttons as the approval post, their own latest requests with status, and for
 * admins the join requests waiting, with the review DM's Approve / Reject. Their finished
 * requests offer Run again.
 * Drawn whole from a HomeDescription each time, like every other dbward view.
 */
import { isFinalStatus, type JoinRequestView, type RequestView } from "@dbward/shared";
import type { types } from "@slack/bolt";
import type { HomeDescription } from "../../use-cases/describe-home.ts";
import { mentionsOf } from "../cards.ts";
import { SLACK_IDS } from "../ids.ts";
import { escapeMrkdwn, truncate } from "../slack-text.ts";
import {
  decisionButtons,
  rerunNote,
  runAgainButton,
  runNowButton,
  waitsForRequester,
} from "./approval-message.ts";
import { context, divider, fields, section, sqlBlocks, type Block } from "./blocks.ts";
import { joinDecisionButtons } from "./join.ts";
import { notLinkedMessage, requestLine } from "./replies.ts";
import { executionSummary, nameOf, stepNeeds, target, type RequestCard } from "./request-card.ts";

/** Slack refuses a Home tab of more blocks than this. */
export const HOME_MAX_BLOCKS = 100;

export function homeView(home: HomeDescription): types.HomeView {
  return { type: "home", callback_id: SLACK_IDS.views.home, blocks: homeBlocks(home) };
}

function homeBlocks(home: HomeDescription): Block[] {
  switch (home.kind) {
    case "unlinked":
      return [title(), ...notLinkedMessage(home.slackUserId).blocks];
    case "suspended":
      return [
        title(),
        section(
          "Your dbward access is *suspended*: you cannot ask for or decide on requests. " +
            "Ask a dbward admin if you think this is a mistake.",
        ),
      ];
    case "active":
      break;
  }
  const people = mentionsOf(home.people);
  const u = home.user;
  const blocks: Block[] = [
    title(),
    context(
      `You are *${escapeMrkdwn(u.name)}* (${u.roles.join(", ") || "no roles"}). ` +
        "Ask to run SQL with `/dbward query`; `/dbward help` lists the rest. This tab follows your requests as they change.",
    ),
    divider(),
  ];
  if (home.awaiting.length === 0) {
    blocks.push(section("*Waiting for your decision*: nothing right now."));
  } else {
    blocks.push(
      section(`*Waiting for your decision* (${home.awaiting.length}${home.moreAwaiting ? "+" : ""})`),
    );
    for (const r of home.awaiting) blocks.push(...awaitingBlocks({ request: r, people, approvers: [] }));
    if (home.moreAwaiting) {
      blocks.push(context("More requests wait for you than fit here: `/dbward list` shows them."));
    }
  }
  if (home.joinRequests !== undefined) blocks.push(divider(), ...joinBlocks(home.joinRequests));
  blocks.push(divider());
  if (home.recent.length === 0) {
    blocks.push(section("*Your latest requests*: none yet."));
  } else {
    blocks.push(section("*Your latest requests*"));
    for (const r of home.recent) blocks.push(recentBlock(r));
  }
  return blocks;
}

function title(): Block {
  return { type: "header", text: { type: "plain_text", text: "dbward" } };
}

/** A request waiting for this person: who asked, what, why, the SQL's start, and the buttons. */
function awaitingBlocks(card: RequestCard): Block[] {
  const r = card.request;
  const warnings = r.review.findings.filter((f) => f.severity === "warn").map((f) => escapeMrkdwn(f.message));
  return [
    section(`*Request #${r.id}* · \`${r.operation}\` on ${target(r)} · risk \`${r.review.risk}\``),
    fields([
      ["Requested by", nameOf(card, r.requester)],
      ["Needs", stepNeeds(r) ?? "no step is waiting"],
      ["Reason", escapeMrkdwn(truncate(r.reason, 500))],
    ]),
    ...sqlBlocks(r.sql, 1, "Open *Review* to read all of it."),
    ...(warnings.length > 0 ? [context(`:warning: ${warnings.join(" · ")}`)] : []),
    decisionButtons(r.id),
  ];
}

/** For admins: people asking to join, with the Approve / Reject of the review DM. */
function joinBlocks(j: { readonly shown: readonly JoinRequestView[]; readonly total: number }): Block[] {
  if (j.total === 0) return [section("*Join requests*: none waiting.")];
  const blocks = [section(`*Join requests* (${j.total})`)];
  for (const r of j.shown) {
    blocks.push(
      section(
        `${escapeMrkdwn(truncate(r.name, 100))} (<@${r.slack_user_id}>) asks to be *${escapeMrkdwn(r.requested_role)}*` +
          `${r.groups.length > 0 ? ` in ${escapeMrkdwn(truncate(r.groups.join(", "), 200))}` : ""}: ` +
          `${escapeMrkdwn(truncate(r.reason, 500))}`,
      ),
      joinDecisionButtons(r),
    );
  }
  if (j.total > j.shown.length) {
    blocks.push(context("More wait than fit here: `GET /api/join-requests` lists them all."));
  }
  return blocks;
}

/**
 * One of the person's own requests; a finished one offers Run again beside it, an approved one
 * that waits for them Run now.
 */
function recentBlock(r: RequestView): Block {
  const ran = executionSummary(r);
  const waits = waitsForRequester(r);
  const runBy =
    waits && r.run_schedule.run_by !== null
      ? `\n:arrow_forward: Waits for you to run it, until ${r.run_schedule.run_by}`
      : "";
  const block = section(
    `${requestLine(r)}${rerunNote(r.rerun_of)}${ran === undefined ? "" : `\n:gear: ${ran}`}${runBy}`,
  );
  if (block.type !== "section") return block;
  if (waits) return { ...block, accessory: runNowButton(r.id) };
  return isFinalStatus(r.status) ? { ...block, accessory: runAgainButton(r.id) } : block;
}
