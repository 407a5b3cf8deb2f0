/**
 * Request statuses. The strings are the wire and database values. The allowed transitions live
 * in the bot's core (bot/src/core/request-state.ts); this module only names the states so that
 * the CLI and the agent can speak about them.
 */
export const REQUEST_STATUSES = [
  "pending_approval",
  "approved",
  "dispatched",
  "running",
  "succeeded",
  "failed",
  "timed_out",
  "lost",
  "rejected",
  "expired",
  "cancelled",
] as const;
export type RequestStatus = (typeof REQUEST_STATUSES)[number];

/**
 * Statuses from which nothing moves by itself any more. The one way out of any of them is an
 * operator's explicit retry of a `lost` request (a new execution with a new token).
 */
export const FINAL_STATUSES = [
  "succeeded",
  "failed",
  "timed_out",
  "lost",
  "rejected",
  "expired",
  "cancelled",
] as const satisfies readonly RequestStatus[];

export function isRequestStatus(value: unknown): value is RequestStatus {
  return typeof value === "string" && (REQUEST_STATUSES as readonly string[]).includes(value);
}

export function isFinalStatus(status: RequestStatus): boolean {
  return (FINAL_STATUSES as readonly RequestStatus[]).includes(status);
}
