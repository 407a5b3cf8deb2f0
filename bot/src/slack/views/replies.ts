/** Ephemeral and DM replies to commands: help, linking, lists, a created request, plain notes. */
import { displaySql, type RequestView } from "@dbward/shared";
import type { Role } from "../../config/bot-config.ts";
import { escapeMrkdwn, truncate } from "../slack-text.ts";
import { plainStatus } from "./approval-message.ts";
import { context, section, sqlBlocks, type SlackMessage } from "./blocks.ts";
import { STATUS_LABELS, target, whoMustApprove, type RequestCard } from "./request-card.ts";

export function plainReply(text: string): SlackMessage {
  return { text, blocks: [section(text)] };
}

export function helpMessage(name: string, roles: readonly Role[]): SlackMessage {
  const lines = [`*dbward* — you are *${escapeMrkdwn(name)}* (${roles.join(", ")}).`];
  if (roles.includes("requester")) {
    lines.push(
      "• `/dbward query` — ask to run SQL; a form asks for the database, environment, SQL and reason.",
      '• `/dbward query <database> [environment] "<reason>" <sql>` — the same in one line.',
    );
  }
  lines.push(
    "• `/dbward list` — your requests, and requests waiting for you (also on dbward's *Home* tab).",
    "• `/dbward status <id>` — where a request stands.",
    roles.includes("operator")
      ? "• `/dbward cancel <id> [reason]` — cancel any request (you are an operator)."
      : "• `/dbward cancel <id> [reason]` — cancel a request of yours.",
  );
  if (roles.includes("approver")) {
    lines.push(
      "You are an approver: requests you may decide come to you by DM and in the approvals channel, " +
        "with *Review*, *Approve* and *Reject* buttons. A rejection needs a reason.",
    );
  }
  if (roles.includes("admin")) {
    lines.push("You are an admin: users, tokens and the audit log are managed with the `dbward` CLI.");
  }
  return { text: "dbward help", blocks: [section(lines.join("\n"))] };
}

export function notLinkedMessage(slackUserId: string): SlackMessage {
  return plainReply(
    "Your Slack account is not linked to a dbward user, so dbward cannot act for you yet. " +
      `Ask a dbward admin to add \`slack_user_id: ${escapeMrkdwn(slackUserId)}\` to your user in the bot's config, ` +
      "or ask to join with `/dbward join`.",
  );
}

/** What the requester sees once their request exists: exactly the SQL that will run. */
export function createdMessage(card: RequestCard): SlackMessage {
  const r = card.request;
  const next =
    r.status === "pending_approval"
      ? `Waiting for approval from ${whoMustApprove(card)}. You will get a DM when it is decided.`
      : `${plainStatus(r.status)}: it needs no approval. The result comes to you by DM.`;
  const text = `Request #${r.id} created: ${r.operation} on ${target(r)}. ${next}`;
  return {
    text,
    blocks: [
      section(text),
      section("*This exact SQL will run:*"),
      ...sqlBlocks(r.sql, 10, "Use `/dbward status` to see all of it."),
      ...(displaySql(r.sql) === r.sql
        ? []
        : [
            context(
              ":warning: Characters that do not show are written as `⟨U+…⟩` above; the SQL holds the characters themselves.",
            ),
          ]),
      context(`SHA-256 \`${r.sql_sha256.slice(0, 16)}…\` · risk \`${r.review.risk}\``),
    ],
  };
}

/** One request in a list: id, status, operation, target and the start of its reason. */
export function requestLine(r: RequestView): string {
  return `*#${r.id}* ${STATUS_LABELS[r.status]} · \`${r.operation}\` on ${target(r)} · ${escapeMrkdwn(truncate(r.reason, 80))}`;
}

export function listMessage(mine: readonly RequestView[], waiting: readonly RequestView[]): SlackMessage {
  const line = (r: RequestView): string => `• ${requestLine(r)}`;
  const parts = [
    waiting.length > 0
      ? `*Waiting for you* (${waiting.length})\n${waiting.map(line).join("\n")}`
      : "*Waiting for you*: nothing.",
    mine.length > 0 ? `*Your latest requests*\n${mine.map(line).join("\n")}` : "*Your requests*: none yet.",
  ];
  return { text: "Your dbward requests", blocks: parts.map(section) };
}
