/**
 * The three modals: asking for a query, reviewing a request, and rejecting one with a reason.
 * Each carries what its submission needs in `private_metadata`, as JSON. The query form opened
 * by Run again remembers the request it runs again there. The review modal asks an approver who
 * matches several selectors a step still needs which one they approve as (issue 13).
 */
import type { types } from "@slack/bolt";
import type { QueryDraft } from "../command-parser.ts";
import { SLACK_IDS } from "../ids.ts";
import { approvalMessage, dryRunLine, planLine, touchedTablesLine } from "./approval-message.ts";
import { LIMITS, context, option, plain, section, sqlBlocks, type Block } from "./blocks.ts";
import type { RequestCard } from "./request-card.ts";
import type { ApproveAsChoice } from "../../use-cases/list-approve-as-choices.ts";

export interface RequestTarget {
  readonly database: string;
  readonly environments: readonly string[];
}

/** Slack's limit for a plain-text input's value. */
export const MAX_INPUT_CHARS = 3000;
export const MAX_REASON_CHARS = 2000;

/** What the review and reject modals remember: the request, and where the click came from. */
export interface DecisionMetadata {
  readonly requestId: number;
  readonly channel?: string;
}

/** What the query form remembers: the finished request it runs again, when opened by Run again. */
export interface QueryMetadata {
  readonly rerunOf?: number;
}

export function queryModal(
  targets: readonly RequestTarget[],
  draft: QueryDraft,
  meta: QueryMetadata = {},
): types.ModalView {
  const ids = SLACK_IDS.inputs;
  const chosen = targets.find((t) => t.database === draft.database);
  const envs = chosen?.environments ?? [...new Set(targets.flatMap((t) => t.environments))];
  const dbOptions = targets.map((t) => option(t.database, t.database));
  const envOptions = envs.map((e) => option(e, e));
  const blocks: Block[] = [
    {
      type: "input",
      block_id: ids.database.block,
      dispatch_action: true,
      label: plain("Database"),
      element: {
        type: "static_select",
        action_id: SLACK_IDS.actions.queryDatabase,
        placeholder: plain("Choose a database"),
        options: dbOptions,
        ...(chosen !== undefined ? { initial_option: option(chosen.database, chosen.database) } : {}),
      },
    },
    {
      type: "input",
      // A new block id per database, so Slack drops a selection the new list does not offer.
      block_id: `${ids.environment.block}-${chosen?.database ?? "any"}`,
      label: plain("Environment"),
      element: {
        type: "static_select",
        action_id: ids.environment.action,
        placeholder: plain("Choose an environment"),
        options: envOptions,
        ...(draft.environment !== undefined && envs.includes(draft.environment)
          ? { initial_option: option(draft.environment, draft.environment) }
          : {}),
      },
    },
    {
      type: "input",
      block_id: ids.sql.block,
      label: plain("SQL"),
      hint: plain("Runs exactly as written. You will be shown it back before anyone approves."),
      element: {
        type: "plain_text_input",
        action_id: ids.sql.action,
        multiline: true,
        max_length: MAX_INPUT_CHARS,
        ...(draft.sql !== undefined && draft.sql.length <= MAX_INPUT_CHARS
          ? { initial_value: draft.sql }
          : {}),
      },
    },
    {
      type: "input",
      block_id: ids.reason.block,
      label: plain("Reason"),
      hint: plain("Why this needs to run: approvers read this first."),
      element: {
        type: "plain_text_input",
        action_id: ids.reason.action,
        multiline: true,
        max_length: MAX_REASON_CHARS,
        ...(draft.reason !== undefined ? { initial_value: draft.reason } : {}),
      },
    },
  ];
  if (meta.rerunOf !== undefined) {
    blocks.unshift(
      context(
        `Runs request #${meta.rerunOf} again as a new request, linked to it: ` +
          "it needs approval again like any other. Change anything before you send it.",
      ),
    );
  }
  return {
    type: "modal",
    callback_id: SLACK_IDS.views.query,
    ...(meta.rerunOf !== undefined ? { private_metadata: JSON.stringify(meta) } : {}),
    title: plain(
      meta.rerunOf !== undefined ? `Run #${meta.rerunOf} again` : "Request a query",
      LIMITS.modalTitle,
    ),
    submit: plain("Request", LIMITS.modalTitle),
    close: plain("Cancel", LIMITS.modalTitle),
    blocks,
  };
}

/** `approveAs`: offered only when the approver has a choice; the submission's pick is re-checked. */
export function reviewModal(
  card: RequestCard,
  meta: DecisionMetadata,
  approveAs?: ApproveAsChoice,
): types.ModalView {
  const r = card.request;
  const facts = approvalMessage(card, { showSql: false, buttons: false }).blocks.filter(
    (b) => b.type === "section",
  );
  const plan = planLine(r);
  const count = dryRunLine(r);
  const tables = touchedTablesLine(r);
  const planBlocks = [
    ...(tables === undefined ? [] : [context(tables)]),
    ...(plan === undefined ? [] : [context(`${plan}\nThe whole plan: \`dbward request plan ${r.id}\``)]),
    ...(count === undefined ? [] : [context(count)]),
  ];
  const blocks: Block[] = [
    ...facts,
    ...planBlocks,
    section("*SQL*"),
    ...sqlBlocks(
      r.sql,
      LIMITS.modalBlocks - facts.length - planBlocks.length - 6,
      "The full text is in `dbward status`.",
    ),
  ];
  const pending = r.status === "pending_approval";
  if (pending) blocks.push(...decisionInputs(approveAs));
  else blocks.push(context("This request is no longer waiting for a decision."));
  return {
    type: "modal",
    callback_id: SLACK_IDS.views.review,
    private_metadata: JSON.stringify(meta),
    title: plain(`Review #${r.id}`, LIMITS.modalTitle),
    close: plain("Close", LIMITS.modalTitle),
    ...(pending ? { submit: plain("Submit decision", LIMITS.modalTitle) } : {}),
    blocks,
  };
}

function decisionInputs(approveAs: ApproveAsChoice | undefined): Block[] {
  const ids = SLACK_IDS.inputs;
  const choice: Block[] =
    approveAs === undefined || approveAs.options.length < 2
      ? []
      : [
          {
            type: "input",
            block_id: ids.approveAs.block,
            label: plain("Approve as"),
            hint: plain(
              "You match several approvers this step still needs. Your approval counts for the one you pick; the others still need theirs.",
            ),
            element: {
              type: "static_select",
              action_id: ids.approveAs.action,
              options: approveAs.options.map((s) => option(s, s)),
              // Slack refuses an initial option that is not among the options.
              ...(approveAs.options.includes(approveAs.initial)
                ? { initial_option: option(approveAs.initial, approveAs.initial) }
                : {}),
            },
          },
        ];
  return [
    {
      type: "input",
      block_id: ids.decision.block,
      label: plain("Decision"),
      element: {
        type: "radio_buttons",
        action_id: ids.decision.action,
        options: [
          option("Approve", SLACK_IDS.decisions.approve),
          option("Reject", SLACK_IDS.decisions.reject),
        ],
      },
    },
    ...choice,
    {
      type: "input",
      block_id: ids.notBefore.block,
      optional: true,
      label: plain("Not before"),
      hint: plain(
        "Approving: it is not run before this time (at most 7 days ahead). Leave empty to run it once approved.",
      ),
      element: { type: "datetimepicker", action_id: ids.notBefore.action },
    },
    {
      type: "input",
      block_id: ids.comment.block,
      optional: true,
      label: plain("Comment"),
      hint: plain("Required to reject: say what should change."),
      element: {
        type: "plain_text_input",
        action_id: ids.comment.action,
        multiline: true,
        max_length: MAX_REASON_CHARS,
      },
    },
  ];
}

export function rejectModal(card: RequestCard, meta: DecisionMetadata): types.ModalView {
  return {
    type: "modal",
    callback_id: SLACK_IDS.views.reject,
    private_metadata: JSON.stringify(meta),
    title: plain(`Reject #${card.request.id}`, LIMITS.modalTitle),
    submit: plain("Reject", LIMITS.modalTitle),
    close: plain("Cancel", LIMITS.modalTitle),
    blocks: [
      section(`Rejecting request #${card.request.id}. The requester sees your reason.`),
      {
        type: "input",
        block_id: SLACK_IDS.inputs.comment.block,
        label: plain("Reason"),
        element: {
          type: "plain_text_input",
          action_id: SLACK_IDS.inputs.comment.action,
          multiline: true,
          max_length: MAX_REASON_CHARS,
          placeholder: plain("What should change before this can be approved?"),
        },
      },
    ],
  };
}
