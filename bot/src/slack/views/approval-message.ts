/**
 * The message about one request: posted to the approvals channel, sent to each approver by DM,
 * and shown back by `/dbward status`. Always drawn whole from stored state, so a redraw after
 * any change shows the request as it is now. Buttons appear only while a decision is possible.
 */
import type { types } from "@slack/bolt";
import {
  describeDryRun,
  describePlanSummary,
  describeTouchedTable,
  displaySql,
  visibleName,
  type RequestView,
} from "@dbward/shared";
import { SLACK_IDS } from "../ids.ts";
import { escapeMrkdwn, truncate } from "../slack-text.ts";
import { button, context, fields, section, sqlBlocks, type Block, type SlackMessage } from "./blocks.ts";
import {
  STATUS_LABELS,
  executionSummary,
  nameOf,
  target,
  whoMustApprove,
  type RequestCard,
} from "./request-card.ts";

export interface ApprovalMessageOptions {
  /** Show the SQL itself (approvers' DMs always; the channel per environment setting). */
  readonly showSql: boolean;
  /** Whether to offer the Review / Approve / Reject buttons while the request is pending. */
  readonly buttons: boolean;
  /** A line above the request, e.g. "You can approve this request." */
  readonly lead?: string;
}

/** SQL blocks in a message; the Review modal shows the rest. */
const MAX_SQL_BLOCKS_IN_MESSAGE = 4;

export function approvalMessage(card: RequestCard, o: ApprovalMessageOptions): SlackMessage {
  const r = card.request;
  const blocks: Block[] = [];
  if (o.lead !== undefined) blocks.push(section(o.lead));
  blocks.push(section(`*Request #${r.id}* · ${STATUS_LABELS[r.status]}${rerunNote(r.rerun_of)}`));
  blocks.push(
    fields([
      ["Requested by", nameOf(card, r.requester)],
      ["Database", target(r)],
      ["Operation", `\`${r.operation}\``],
      ["Risk", `\`${r.review.risk}\``],
      ["Must approve", whoMustApprove(card)],
      ["Workflow", `\`${escapeMrkdwn(r.workflow.name)}\``],
      ...rowGuardField(r.workflow.row_guard, r.workflow.row_guard_from_dry_run),
      // Told before the click: under step-up, Approve answers with a sign-in link (step-up-start.ts).
      ...(r.workflow.step_up === "oidc"
        ? [["Approving", "needs a fresh sign-in at the identity provider"] as const]
        : []),
    ]),
  );
  blocks.push(section(`*Reason*\n${quote(r.reason)}`));
  if (r.break_glass_reason !== null) {
    blocks.unshift(
      section(
        `:rotating_light: *Break-glass*: ${nameOf(card, r.requester)} skipped approval. ` +
          `Their reason: ${escapeMrkdwn(truncate(r.break_glass_reason, 1000))}`,
      ),
    );
  }
  if (o.showSql) {
    blocks.push(...sqlBlocks(r.sql, MAX_SQL_BLOCKS_IN_MESSAGE, "Open *Review* to read all of it."));
  } else {
    blocks.push(
      context(
        `The SQL is not shown in this channel for \`${r.environment}\`; approvers have it by DM and in *Review*.`,
      ),
    );
  }
  const warnings = r.review.findings.filter((f) => f.severity === "warn").map((f) => escapeMrkdwn(f.message));
  if (warnings.length > 0) blocks.push(context(`:warning: ${warnings.join(" · ")}`));
  const plan = planLine(r);
  if (plan !== undefined) blocks.push(context(plan));
  const count = dryRunLine(r);
  if (count !== undefined) blocks.push(context(count));
  const story = progressLines(card);
  if (story.length > 0) blocks.push(context(story.join("\n")));
  if (o.buttons && r.status === "pending_approval") blocks.push(decisionButtons(r.id));
  const text = `Request #${r.id} by ${nameOf(card, r.requester)}: ${r.operation} on ${r.database}/${r.environment} — ${plainStatus(r.status)}`;
  return { text, blocks };
}

/**
 * The agent's plan of a request still to be decided (or why there is none), summarised by the
 * bot; a failure to plan is shown, not hidden. Names from the plan are the database's own, so
 * they are escaped for Slack and their invisible characters shown (`displaySql`).
 */
export function planLine(r: RequestView): string | undefined {
  const explain = r.preflights.find((p) => p.kind === "explain");
  if (explain === undefined) return undefined;
  switch (explain.status) {
    case "pending":
    case "running":
      return ":mag: Plan: being made by an agent…";
    case "succeeded":
      return explain.summary === null
        ? ":mag: Plan: made, but its summary could not be read"
        : `:mag: Plan (estimate, not run): ${escapeMrkdwn(displaySql(describePlanSummary(explain.summary)))}`;
    case "failed":
      return `:mag: No plan: ${escapeMrkdwn(displaySql(visibleName(truncate(explain.error?.message ?? "planning failed", 300))))}`;
  }
}

/**
 * The agent's dry run of a write still to be decided: the exact rows it changed before it was
 * rolled back, or why there is no count (shown, not hidden).
 */
export function dryRunLine(r: RequestView): string | undefined {
  const dry = r.preflights.find((p) => p.kind === "dry_run");
  if (dry === undefined) return undefined;
  switch (dry.status) {
    case "pending":
    case "running":
      return ":abacus: Dry run: being counted by an agent…";
    case "succeeded":
      return dry.affected_rows === null
        ? ":abacus: Dry run: finished, but its count could not be read"
        : `:abacus: Dry run: ${describeDryRun(dry.affected_rows, dry.duration_ms)}`;
    case "failed":
      return `:abacus: No dry-run count: ${escapeMrkdwn(displaySql(visibleName(truncate(dry.error?.message ?? "the dry run failed", 300))))}`;
  }
}

/**
 * The tables the statement changes, with their sizes and what a change to them cascades into,
 * from the agent's latest schema context and its age. For the Review modal only: the schema of a
 * database is for people who work on it, not for everyone in the approvals channel.
 */
export function touchedTablesLine(r: RequestView): string | undefined {
  const touched = r.touched_tables as RequestView["touched_tables"] | undefined;
  if (touched === undefined || touched.length === 0) return undefined;
  const lines = touched.slice(0, 5).map((t) => `• ${escapeMrkdwn(displaySql(describeTouchedTable(t)))}`);
  if (touched.length > 5) lines.push(`• and ${touched.length - 5} more`);
  const asOf = r.schema_collected_at === null ? "" : ` (schema as of ${r.schema_collected_at})`;
  return `:card_file_box: Changes${asOf}:\n${lines.join("\n")}`;
}

/** The signed bound, when the write has one: approvers see it before they click. */
function rowGuardField(
  guard: number | null | undefined,
  fromDryRun: { tolerance_percent: number } | null | undefined,
): [string, string][] {
  const count =
    fromDryRun === null || fromDryRun === undefined
      ? undefined
      : `the dry run's count${fromDryRun.tolerance_percent > 0 ? ` + ${fromDryRun.tolerance_percent}%` : ""}`;
  if (typeof guard === "number")
    return [
      ["Row guard", `at most ${guard} row(s)${count === undefined ? "" : ` (${count})`}, or rolled back`],
    ];
  return count === undefined ? [] : [["Row guard", `${count}, once it is in; approvals wait for it`]];
}

/** Review, Approve and Reject for one request: the same three buttons wherever a decision is offered. */
export function decisionButtons(requestId: number): Block {
  const id = String(requestId);
  return {
    type: "actions",
    block_id: `request-${id}`,
    elements: [
      button("Review", SLACK_IDS.actions.review, id),
      button("Approve", SLACK_IDS.actions.approve, id, "primary"),
      button("Reject", SLACK_IDS.actions.reject, id, "danger"),
    ],
  };
}

/**
 * Run again for a finished request: opens the query form prefilled with it. Offered only to its
 * requester (their notice DM, their Home tab); the click is checked again (find-rerunnable.ts).
 */
export function runAgainButton(requestId: number): types.Button {
  return button("Run again", SLACK_IDS.actions.runAgain, String(requestId));
}

export function runAgainButtons(requestId: number): Block {
  return { type: "actions", block_id: `run-again-${requestId}`, elements: [runAgainButton(requestId)] };
}

/**
 * Run now for an approved request that waits for its requester (`run: by_requester`). Offered
 * only to its requester (their DM, their Home tab); the click is checked again (run-request.ts).
 */
export function runNowButton(requestId: number): types.Button {
  return button("Run now", SLACK_IDS.actions.runNow, String(requestId), "primary");
}

/** True while the request waits for its requester to run it. */
export function waitsForRequester(r: RequestView): boolean {
  return (
    r.workflow.run === "by_requester" && r.status === "approved" && r.run_schedule.run_requested_at === null
  );
}

/** " · Run again of #N" for a request linked to the one it runs again; empty otherwise. */
export function rerunNote(rerunOf: number | null): string {
  return rerunOf === null ? "" : ` · :repeat: Run again of #${rerunOf}`;
}

/** Who approved or rejected, and how the execution went: the request's story so far. */
function progressLines(card: RequestCard): string[] {
  const r = card.request;
  const lines = r.approvals.map((a) =>
    a.decision === "approved"
      ? `:white_check_mark: Approved by ${nameOf(card, a.approver)}${a.comment ? `: ${escapeMrkdwn(truncate(a.comment, 300))}` : ""}`
      : `:no_entry: Rejected by ${nameOf(card, a.approver)}: ${escapeMrkdwn(truncate(a.comment ?? "", 300))}`,
  );
  const ran = executionSummary(r);
  if (ran !== undefined) lines.push(`:gear: Execution: ${ran}`);
  if (
    r.status_reason !== null &&
    (r.status === "cancelled" || r.status === "expired" || r.status === "lost")
  ) {
    lines.push(`${STATUS_LABELS[r.status]}: ${escapeMrkdwn(truncate(r.status_reason, 300))}`);
  }
  return lines;
}

function quote(text: string): string {
  return escapeMrkdwn(truncate(text, 2800))
    .split("\n")
    .map((l) => `>${l}`)
    .join("\n");
}

/** The status label without its emoji, for notification text. */
export function plainStatus(status: keyof typeof STATUS_LABELS): string {
  return STATUS_LABELS[status].replace(/^:[a-z_]+: /, "");
}
