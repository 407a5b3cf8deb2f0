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
    snoozeReminder: "dbward.reminder.snooze",
    runAgain: "dbward.request.run_again",
    runNow: "dbward.request.run_now",
    queryDatabase: "dbward.query.database",
    joinApprove: "dbward.join.approve",
    joinReject: "dbward.join.reject",
    adminAdd: "dbward.admin.add",
    adminEdit: "dbward.admin.edit",
    adminSuspend: "dbward.admin.suspend",
    adminActivate: "dbward.admin.activate",
  },
  views: {
    query: "dbward.query.modal",
    review: "dbward.review.modal",
    reject: "dbward.reject.modal",
    join: "dbward.join.modal",
    admin: "dbward.admin.modal",
    adminAdd: "dbward.admin.add.modal",
    adminEdit: "dbward.admin.edit.modal",
    home: "dbward.home",
  },
  /** Input blocks of the modals: `block_id` and the `action_id` of the element inside. */
  inputs: {
    database: { block: "database", action: "database" },
    environment: { block: "environment", action: "environment" },
    sql: { block: "sql", action: "sql" },
    reason: { block: "reason", action: "reason" },
    decision: { block: "decision", action: "decision" },
    approveAs: { block: "approve_as", action: "approve_as" },
    comment: { block: "comment", action: "comment" },
    notBefore: { block: "not_before", action: "not_before" },
    joinName: { block: "join_name", action: "join_name" },
    joinEmail: { block: "join_email", action: "join_email" },
    joinRole: { block: "join_role", action: "join_role" },
    joinGroups: { block: "join_groups", action: "join_groups" },
    joinReason: { block: "join_reason", action: "join_reason" },
    adminSlackUser: { block: "admin_slack_user", action: "admin_slack_user" },
    adminName: { block: "admin_name", action: "admin_name" },
    adminEmail: { block: "admin_email", action: "admin_email" },
    adminRoles: { block: "admin_roles", action: "admin_roles" },
    adminGroups: { block: "admin_groups", action: "admin_groups" },
  },
  /** The two values of the review modal's decision radio buttons. */
  decisions: { approve: "approve", reject: "reject" },
} as const;

export type DecisionValue = (typeof SLACK_IDS.decisions)[keyof typeof SLACK_IDS.decisions];
