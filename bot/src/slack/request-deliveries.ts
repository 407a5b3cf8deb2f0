/**
 * What a request's outbox rows draw, each read from stored state when it runs: its post in the
 * approvals channel (and the Home tabs that show it), the story in the post's thread, the DMs to
 * the approvers who may decide now, the requester's notices, and a read's result. A Slack failure
 * throws, and the sender retries the row; the change behind it has committed either way.
 */
import type { RequestId, RequestView } from "@dbward/shared";
import type { Logger } from "pino";
import type { BotContext } from "../use-cases/bot-context.ts";
import { describeRequest, readResultForDelivery } from "../use-cases/describe-request.ts";
import { openStoredResult } from "../use-cases/read-result.ts";
import { cardOf, showSqlInChannel } from "./cards.ts";
import { channelFor } from "./channel-for.ts";
import type { HomeTabs } from "./home-tabs.ts";
import type { MessageRefs } from "./message-refs.ts";
import { SlackCallError } from "./slack-api.ts";
import type { SlackCalls } from "./slack-calls.ts";
import type { Progress } from "./slack-sender.ts";
import { approvalMessage } from "./views/approval-message.ts";
import { reminderMessage } from "./views/reminder-message.ts";
import { section, type SlackMessage } from "./views/blocks.ts";
import { requesterNotice, threadStep } from "./views/request-story.ts";
import { resultMessage, toCsv } from "./views/result-message.ts";

export interface RequestDeliveryDeps {
  readonly ctx: BotContext;
  readonly calls: SlackCalls;
  readonly refs: MessageRefs;
  readonly logger: Logger;
  /** Redraws the Home tabs the change shows up in. */
  readonly home?: HomeTabs;
}

/**
 * Updates the channel post in place, or posts it when it has none yet and the request is one
 * people decide on: waiting for approval, or decided, or break-glass (which skips approval and
 * must be announced loudly, SECURITY.md 6). So a post that never made it comes with the next
 * change; an auto-approved read is never posted.
 */
export async function redrawRequestPost(d: RequestDeliveryDeps, id: RequestId): Promise<void> {
  const description = await describeRequest(d.ctx, id);
  await d.home?.requestChanged(id, description.people);
  const card = cardOf(description);
  const slack = d.ctx.config().slack;
  const r = card.request;
  const message = approvalMessage(card, { showSql: showSqlInChannel(slack, r.environment), buttons: true });
  const known = await d.refs.post(r.id);
  if (known !== undefined) return d.calls.update(known, message);
  if (slack === undefined || !isDecidedByPeople(r)) return;
  const posted = await d.calls.post(channelFor(slack, r.database, r.environment), message);
  await d.refs.savePost(r.id, posted);
}

function isDecidedByPeople(r: RequestView): boolean {
  return r.status === "pending_approval" || r.break_glass_reason !== null || r.approvals.length > 0;
}

/** The change's line in the post's thread; nothing when there is no post or the story skips it. */
export async function postThreadStep(
  d: RequestDeliveryDeps,
  id: RequestId,
  action: string,
  actor: string,
): Promise<void> {
  const post = await d.refs.post(id);
  if (post === undefined) return;
  const step = threadStep(cardOf(await describeRequest(d.ctx, id)), action, actor);
  if (step !== undefined) await d.calls.post(post.channel, step, post.ts);
}

/** A DM with the SQL and the buttons to each approver who may decide now; earlier DMs redrawn. */
export async function notifyApprovers(d: RequestDeliveryDeps, id: RequestId): Promise<void> {
  const description = await describeRequest(d.ctx, id);
  const card = cardOf(description);
  const r = card.request;
  const sent = await d.refs.dms(r.id);
  await forEachPerson([...sent], async ([userId, ref]) => {
    const canDecide = card.approvers.includes(userId);
    await d.calls.update(ref, approvalMessage(card, { showSql: true, buttons: canDecide }));
  });
  // Reminder DMs carry the buttons too: redrawn with the rest, so none offers a stale decision.
  const reminders = [...(await d.refs.reminderDms(r.id)).values()].flatMap((m) => [...m]);
  await forEachPerson(reminders, async ([userId, ref]) => {
    await d.calls.update(ref, reminderMessage(card, card.approvers.includes(userId)));
  });
  if (r.status !== "pending_approval") return;
  await forEachPerson(description.approvers, async (u) => {
    if (u.slackUserId === null || sent.has(u.id)) return;
    const ref = await d.calls.dm(
      u.slackUserId,
      approvalMessage(card, { showSql: true, buttons: true, lead: "*You can decide on this request.*" }),
    );
    await d.refs.saveDm(r.id, u.id, ref);
  });
}

/**
 * Runs `send` for every person even when some fail: one person Slack cannot reach (a
 * deactivated account) must not keep the others from hearing. Throws afterwards, a failure that
 * can clear first, so the row is retried (DMs already sent are in `refs` or the row's progress,
 * and are not sent again) or, when none can, given up.
 */
export async function forEachPerson<T>(
  people: readonly T[],
  send: (person: T) => Promise<void>,
): Promise<void> {
  const failures: unknown[] = [];
  for (const p of people) {
    try {
      await send(p);
    } catch (err) {
      failures.push(err);
    }
  }
  if (failures.length === 0) return;
  throw failures.find((f) => !(f instanceof SlackCallError) || f.retryable) ?? failures[0];
}

export async function noticeRequester(
  d: RequestDeliveryDeps,
  id: RequestId,
  action: string,
  actor: string,
): Promise<void> {
  const description = await describeRequest(d.ctx, id);
  const card = cardOf(description);
  const requester = description.people.find((u) => u.id === card.request.requester);
  const notice = requesterNotice(card, action, actor);
  if (notice !== undefined && requester?.slackUserId != null) await d.calls.dm(requester.slackUserId, notice);
}

/**
 * A succeeded read's first rows as a table and the whole result as CSV, to each recipient's DM
 * (and the thread if configured); the requester's DM offers Run again. Each message and file is a part of its own, so a retry sends
 * only what an earlier try did not.
 */
export async function deliverResult(
  d: RequestDeliveryDeps,
  id: RequestId,
  progress: Progress,
): Promise<void> {
  const { view } = await describeRequest(d.ctx, id);
  if (view.status !== "succeeded" || view.operation !== "read") return;
  const delivery = await readResultForDelivery(d.ctx, id);
  if (delivery === undefined) return;
  const results = d.ctx.config().slack?.results;
  const { result } = delivery;
  const maxRows = results?.preview_rows ?? 20;
  const message = resultMessage(result, maxRows);
  // Run again is the requester's alone (issue 13): their copy offers it, the shared ones do not.
  const requesterMessage = resultMessage(result, maxRows, { runAgain: true });
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
  const deliver = async (
    to: string,
    channel: () => Promise<string>,
    m: SlackMessage,
    ts?: string,
  ): Promise<void> => {
    await progress.once(`${to}:message`, async () => {
      await d.calls.post(await channel(), m, ts);
    });
    if (file !== undefined)
      await progress.once(`${to}:file`, async () => d.calls.uploadFile(await channel(), file, ts));
    if (tooLarge)
      await progress.once(`${to}:hint`, async () => {
        await d.calls.post(await channel(), { text: hint, blocks: [section(hint)] }, ts);
      });
  };
  const post = await d.refs.post(id);
  const to: { key: string; channel: () => Promise<string>; message: SlackMessage; ts?: string }[] = [
    ...delivery.recipients.flatMap((u) => {
      const slackUserId = u.slackUserId;
      return slackUserId === null
        ? []
        : [
            {
              key: `dm:${u.id}`,
              channel: () => d.calls.dmChannel(slackUserId),
              message: u.id === view.requester ? requesterMessage : message,
            },
          ];
    }),
    ...(results?.in_thread === true && post !== undefined
      ? [{ key: "thread", channel: () => Promise.resolve(post.channel), message, ts: post.ts }]
      : []),
  ];
  await forEachPerson(to, (t) => deliver(t.key, t.channel, t.message, t.ts));
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
