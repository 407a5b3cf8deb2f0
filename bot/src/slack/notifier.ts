/**
 * After a request's change has committed: redraw its post in the approvals channel from stored
 * state, and the Home tabs that show it; tell the story in the post's thread; DM the approvers
 * who may decide now; tell the requester when it is decided or finished; deliver results. Runs in
 * the delivery queue, one request's changes in order; nothing here can touch the change itself.
 */
import type { RequestId } from "@dbward/shared";
import type { Logger } from "pino";
import type { User } from "../identity/users.ts";
import type { BotContext, RequestChange } from "../use-cases/bot-context.ts";
import { describeRequest, readResultForDelivery } from "../use-cases/describe-request.ts";
import { openStoredResult } from "../use-cases/read-result.ts";
import { cardOf, showSqlInChannel } from "./cards.ts";
import { channelFor } from "./channel-for.ts";
import type { HomeTabs } from "./home-tabs.ts";
import type { MessageRef, MessageRefs } from "./message-refs.ts";
import type { Outbox } from "./outbox.ts";
import { approvalMessage } from "./views/approval-message.ts";
import type { RequestCard } from "./views/request-card.ts";
import { section } from "./views/blocks.ts";
import { requesterNotice, threadStep } from "./views/request-story.ts";
import { resultMessage, toCsv } from "./views/result-message.ts";

export interface NotifierDeps {
  readonly ctx: BotContext;
  readonly outbox: Outbox;
  readonly refs: MessageRefs;
  readonly logger: Logger;
  /** Redraws the Home tabs the change shows up in. */
  readonly home?: HomeTabs;
}

export function createNotifier(d: NotifierDeps): (change: RequestChange) => void {
  return (change) => d.outbox.queue.enqueue(`request:${change.requestId}`, () => deliverChange(d, change));
}

async function deliverChange(d: NotifierDeps, change: RequestChange): Promise<void> {
  const description = await describeRequest(d.ctx, change.requestId);
  const card = cardOf(description);
  d.home?.requestChanged(change.requestId, description.people);
  const post = await redrawChannelPost(d, card, change.action === "request.break_glass");
  const step = threadStep(card, change.action, change.actor);
  if (post !== undefined && step !== undefined) await d.outbox.post(post.channel, step, post.ts);
  await notifyApprovers(d, card, description.approvers);
  const requester = description.people.find((u) => u.id === card.request.requester);
  const notice = requesterNotice(card, change.action, change.actor);
  if (notice !== undefined && requester?.slackUserId != null)
    await d.outbox.dm(requester.slackUserId, notice);
  const r = card.request;
  if (change.action === "request.finished" && r.status === "succeeded" && r.operation === "read") {
    await deliverResult(d, r.id as RequestId, post);
  }
}

/**
 * Updates the channel post in place, or posts it while the request waits for approval — and
 * always for break-glass, which skips approval and must be announced loudly (SECURITY.md, 6).
 */
async function redrawChannelPost(
  d: NotifierDeps,
  card: RequestCard,
  breakGlass: boolean,
): Promise<MessageRef | undefined> {
  const slack = d.ctx.config().slack;
  const r = card.request;
  const message = approvalMessage(card, {
    showSql: showSqlInChannel(slack, r.environment),
    buttons: true,
  });
  const known = await d.refs.post(r.id);
  if (known !== undefined) {
    await d.outbox.update(known, message);
    return known;
  }
  if (slack === undefined || (r.status !== "pending_approval" && !breakGlass)) return undefined;
  const posted = await d.outbox.post(channelFor(slack, r.database, r.environment), message);
  if (posted !== undefined) await d.refs.savePost(r.id, posted);
  return posted;
}

/** A DM with the SQL and the buttons to each approver who may decide now; earlier DMs redrawn. */
async function notifyApprovers(
  d: NotifierDeps,
  card: RequestCard,
  approvers: readonly User[],
): Promise<void> {
  const r = card.request;
  const sent = await d.refs.dms(r.id);
  for (const [userId, ref] of sent) {
    const canDecide = card.approvers.includes(userId);
    await d.outbox.update(ref, approvalMessage(card, { showSql: true, buttons: canDecide }));
  }
  if (r.status !== "pending_approval") return;
  for (const u of approvers) {
    if (u.slackUserId === null || sent.has(u.id)) continue;
    const ref = await d.outbox.dm(
      u.slackUserId,
      approvalMessage(card, { showSql: true, buttons: true, lead: "*You can decide on this request.*" }),
    );
    if (ref !== undefined) await d.refs.saveDm(r.id, u.id, ref);
  }
}

/** The first rows as a table and the whole result as CSV, to each recipient's DM (and the thread if configured). */
async function deliverResult(d: NotifierDeps, id: RequestId, post: MessageRef | undefined): Promise<void> {
  const delivery = await readResultForDelivery(d.ctx, id);
  if (delivery === undefined) return;
  const results = d.ctx.config().slack?.results;
  const { result } = delivery;
  const message = resultMessage(result, results?.preview_rows ?? 20);
  const csv =
    result.columns.length > 0
      ? await fullCsv(d.ctx, id, () => toCsv(result.columns, result.rows))
      : undefined;
  const file =
    csv === undefined
      ? undefined
      : { filename: `dbward-request-${id}.csv`, title: `Result of request #${id}`, content: csv };
  const tooLarge = result.columns.length > 0 && csv === undefined;
  const hint = `The whole result is larger than ${SLACK_FILE_MAX_BYTES / 1_000_000} MB; fetch it with \`dbward request result ${id} --format csv -o result.csv\`.`;
  const deliver = async (channel: string, ts?: string): Promise<void> => {
    await d.outbox.post(channel, message, ts);
    if (file !== undefined) await d.outbox.uploadFile(channel, file, ts);
    if (tooLarge) await d.outbox.post(channel, { text: hint, blocks: [section(hint)] }, ts);
  };
  for (const u of delivery.recipients) {
    if (u.slackUserId === null) continue;
    const channel = await d.outbox.dmChannel(u.slackUserId);
    if (channel !== undefined) await deliver(channel);
  }
  if (results?.in_thread === true && post !== undefined) await deliver(post.channel, post.ts);
}

/** Files larger than this are not uploaded; the message says how to fetch the result instead. */
export const SLACK_FILE_MAX_BYTES = 20_000_000;

/**
 * The whole stored result as CSV (the JSON preview holds only the first rows), or undefined when
 * it exceeds SLACK_FILE_MAX_BYTES. Falls back to the preview when no stored result exists.
 */
async function fullCsv(ctx: BotContext, id: RequestId, preview: () => string): Promise<string | undefined> {
  const stored = await openStoredResult(ctx, id, "csv");
  if (stored === undefined) return preview();
  const parts: Buffer[] = [];
  let size = 0;
  for await (const chunk of stored.body) {
    const buf = typeof chunk === "string" ? Buffer.from(chunk) : chunk;
    size += buf.length;
    if (size > SLACK_FILE_MAX_BYTES) return undefined;
    parts.push(buf);
  }
  return Buffer.concat(parts).toString("utf8");
}
