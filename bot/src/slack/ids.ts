/**
 * Every `action_id`, `callback_id` and `block_id` the Slack adapter sends or listens for, in one
 * table (and the endpoint path). Views render these ids and listeners match on them; nothing else spells them out.
 */
/** Where Slack sends slash commands and interactions (the manifest's request URL path). */
export const SLACK_EVENTS_PATH = "/slack/events";

export const SLACK_IDS = {
  command: "/dbward",
  actions: {
    review: "dbward.request.review",
    approve: "dbward.request.approve",
    reject: "dbward.request.reject",
    queryDatabase: "dbward.query.database",
  },
  views: {
    query: "dbward.query.modal",
    review: "dbward.review.modal",
    reject: "dbward.reject.modal",
  },
  /** Input blocks of the modals: `block_id` and the `action_id` of the element inside. */
  inputs: {
    database: { block: "database", action: "database" },
    environment: { block: "environment", action: "environment" },
    sql: { block: "sql", action: "sql" },
    reason: { block: "reason", action: "reason" },
    decision: { block: "decision", action: "decision" },
    comment: { block: "comment", action: "comment" },
  },
  /** The two values of the review modal's decision radio buttons. */
  decisions: { approve: "approve", reject: "reject" },
} as const;

export type DecisionValue = (typeof SLACK_IDS.decisions)[keyof typeof SLACK_IDS.decisions];
