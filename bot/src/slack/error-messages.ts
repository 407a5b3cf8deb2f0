/**
 * The one place a use case's error becomes what a Slack user reads: plain, and saying what to do
 * next. Anything that is not a `DbwardError` is a bug on our side; the user gets a reference to
 * quote and the log gets the details.
 */
import { DbwardError, type ErrorCode } from "@dbward/shared";

const NEXT_STEP: Partial<Record<ErrorCode, string>> = {
  "request.invalid": "Fix that and try again.",
  "request.not_found": "Check the number with `/dbward list`.",
  "user.not_found": "Check the id in the list that `/dbward admin` opens.",
  "api_token.not_found": "List the tokens with `dbward token list`; a revoked token is gone.",
  "join.not_found": "It may have expired; ask the person to run `/dbward join` again.",
  "request.invalid_transition": "Run `/dbward status` to see where it stands now.",
  "execution.limit_reached": "Make the request again once the window has passed.",
  "request.no_workflow": "Ask a dbward admin to add a workflow that covers it.",
  "request.self_approval": "Someone else has to decide on your request.",
  "request.already_decided": "Nothing more to do here.",
  "auth.forbidden": "Ask a dbward admin if you need this.",
  "auth.suspended": "Ask a dbward admin to restore your account.",
  "sql.rejected": "Change the SQL and ask again.",
  "sql.unverified":
    "The agent could not verify what this SQL calls on its database; ask an administrator to review the function.",
};

export function messageForError(err: unknown, reference: string): string {
  if (err instanceof DbwardError) {
    const next = NEXT_STEP[err.code];
    const text = err.message.charAt(0).toUpperCase() + err.message.slice(1);
    return `${text}${/[.!?]$/.test(text) ? "" : "."}${next === undefined ? "" : ` ${next}`}`;
  }
  return (
    "Something went wrong inside dbward. Check with `/dbward status` before trying again, and quote " +
    `\`${reference}\` to your dbward admin.`
  );
}
