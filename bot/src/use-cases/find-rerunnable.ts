/**
 * Run again (issue 13): a finished request offers its requester a new request with the same
 * database, environment, SQL and reason. The new one is created like any other and goes through
 * its own workflow; this module only decides which requests may be run again, and by whom.
 *
 * Only the original's requester may run it again: Run again is offered to them, and anyone else
 * who may request on that database can ask with a request of their own. A request that is not
 * final yet is refused, so a rerun never races its original. Every final status qualifies —
 * rejected included, since the new request needs approval again and may carry edited SQL.
 */
import { DbwardError, isFinalStatus, type RequestId } from "@dbward/shared";
import type { RequestRecord } from "../store/requests-repo.ts";
import type { BotContext } from "./bot-context.ts";
import type { UserCaller } from "./caller.ts";
import { findVisibleRequest } from "./read-requests.ts";

/**
 * The request the caller may run again. One they cannot see is `request.not_found`, as on every
 * route that takes an id, so ids cannot be probed.
 */
export async function findRerunnable(
  ctx: BotContext,
  caller: UserCaller,
  id: RequestId,
): Promise<RequestRecord> {
  const original = await findVisibleRequest(ctx, caller, id);
  assertRerunnable(caller, original);
  return original;
}

/** Throws unless `original` is the caller's own and final; checked again inside the write. */
export function assertRerunnable(caller: UserCaller, original: RequestRecord): void {
  if (original.requester !== caller.user.id) {
    throw new DbwardError(
      "auth.forbidden",
      `only its requester (${original.requester}) can run request #${original.id} again; ` +
        "make a new request with the SQL instead",
    );
  }
  if (!isFinalStatus(original.status)) {
    throw new DbwardError(
      "request.invalid_transition",
      `request #${original.id} is ${original.status}, not finished: only a finished request can be run again; ` +
        "wait for it to finish, or cancel it first",
      { status: original.status },
    );
  }
}
