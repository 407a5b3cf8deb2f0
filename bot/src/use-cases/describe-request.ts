/**
 * Everything an after-commit notifier needs to draw a request: its view, who may decide its
 * current step now, and the users it names. A system read with no caller: it feeds messages to
 * people the request already concerns (the approvals channel, its approvers, its requester).
 */
import type { RequestId, RequestView, ResultTable, ResultView } from "@dbward/shared";
import { canDecide, matchesSelector } from "../core/approval-decision.ts";
import { listUsers, type User } from "../identity/users.ts";
import { listApprovals, listExecutions } from "../store/requests-repo.ts";
import type { BotContext } from "./bot-context.ts";
import { findRequestOrThrow } from "./find-request-or-throw.ts";
import { toRequestView } from "./read-requests.ts";

export interface RequestDescription {
  readonly view: RequestView;
  /** Active users who may decide the current step now; empty once the request is not pending. */
  readonly approvers: readonly User[];
  /** The requester and everyone who approved or rejected, plus the approvers above. */
  readonly people: readonly User[];
}

export async function describeRequest(ctx: BotContext, id: RequestId): Promise<RequestDescription> {
  const record = await findRequestOrThrow(ctx.store, id);
  const [view, approvals, users] = await Promise.all([
    toRequestView(ctx, record),
    listApprovals(ctx.store, id),
    listUsers(ctx.store),
  ]);
  const approved = approvals.filter((a) => a.decision === "approved");
  const approvers = users.filter((u) => u.status === "active" && canDecide(record, u, approved).ok);
  const named = new Set([record.requester, ...approvals.map((a) => a.approver)]);
  const people = users.filter((u) => named.has(u.id) || approvers.includes(u));
  return { view, approvers, people };
}

export interface ResultDelivery {
  readonly result: ResultView;
  /** The requester, and the active users `slack.results.share_with` names. */
  readonly recipients: readonly User[];
}

/** The latest successful result, and who it goes to under the config's result policy. */
export async function readResultForDelivery(
  ctx: BotContext,
  id: RequestId,
): Promise<ResultDelivery | undefined> {
  const record = await findRequestOrThrow(ctx.store, id);
  const exe = (await listExecutions(ctx.store, id)).filter((e) => e.status === "succeeded").at(-1);
  if (exe === undefined) return undefined;
  const table: ResultTable =
    exe.result_json === null
      ? { columns: [], rows: [], row_count: exe.row_count ?? exe.affected_rows ?? 0, truncated: false }
      : (JSON.parse(exe.result_json) as ResultTable);
  const shareWith = ctx.config().slack?.results.share_with ?? [];
  const recipients = (await listUsers(ctx.store)).filter(
    (u) =>
      u.status === "active" &&
      (u.id === record.requester || shareWith.some((selector) => matchesSelector(u, selector))),
  );
  return {
    result: { ...table, request_id: id, execution: exe.number, duration_ms: exe.duration_ms ?? 0 },
    recipients,
  };
}
