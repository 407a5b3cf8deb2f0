/**
 * What every listener shares: who the Slack user is, how to answer them, and the one mapping
 * from a use case's error to what they read (error-messages.ts). Answers are outbox rows, so a
 * listener never waits on Slack after its ack and a restart does not lose them.
 */
import { DbwardError, type RequestId } from "@dbward/shared";
import type { Logger } from "pino";
import { authenticateSlackUser } from "../../use-cases/authenticate-slack-user.ts";
import type { BotContext } from "../../use-cases/bot-context.ts";
import type { UserCaller } from "../../use-cases/caller.ts";
import { describeRequest } from "../../use-cases/describe-request.ts";
import type { AfterAck } from "../after-ack.ts";
import type { HomeTabs } from "../home-tabs.ts";
import { cardOf } from "../cards.ts";
import { messageForError } from "../error-messages.ts";
import type { ReplyTarget } from "../delivery.ts";
import type { InteractiveCalls } from "../interactive-calls.ts";
import type { SlackOutbox } from "../slack-outbox.ts";
import type { SlackMessage } from "../views/blocks.ts";
import type { RequestCard } from "../views/request-card.ts";
import { notLinkedMessage, plainReply } from "../views/replies.ts";

export interface ListenerDeps {
  readonly ctx: BotContext;
  /** Where answers, DMs and Home tabs are queued. */
  readonly outbox: SlackOutbox;
  /** Modals and profile reads, which answer at once. */
  readonly calls: InteractiveCalls;
  readonly logger: Logger;
  /** Where a listener puts its work after the ack (after-ack.ts). */
  readonly afterAck: AfterAck;
  /** Told of changes the request notifier does not see (join requests). */
  readonly home?: HomeTabs;
}

/**
 * Sends a private answer to the person who acted; queued, so it never blocks the listener. The
 * answers to one interaction (its trigger id) go out in order; separate interactions do not wait
 * for each other.
 */
export type Reply = (m: SlackMessage) => void;

export function replyTo(deps: ListenerDeps, interaction: string, to: ReplyTarget): Reply {
  return (m) => deps.outbox.reply(`interaction:${interaction}`, to, m);
}

/** Through the interaction's `response_url` when it has one, else by DM. */
export function viaResponseUrl(url: string | undefined, slackUserId: string): ReplyTarget {
  return url !== undefined && url !== "" ? { via: "response_url", url } : { via: "dm", user: slackUserId };
}

/** An ephemeral answer where the click happened, or a DM when the channel is not known. */
export function replyInChannelOrDm(
  deps: ListenerDeps,
  interaction: string,
  slackUserId: string,
  channel: string | undefined,
): Reply {
  return replyTo(
    deps,
    interaction,
    channel !== undefined
      ? { via: "ephemeral", channel, user: slackUserId }
      : { via: "dm", user: slackUserId },
  );
}

/** The dbward user behind a Slack id, or undefined after telling them why not (unlinked, suspended). */
export async function identify(
  deps: ListenerDeps,
  slackUserId: string,
  reply: Reply,
): Promise<UserCaller | undefined> {
  try {
    const caller = await authenticateSlackUser(deps.ctx, slackUserId);
    if (caller === undefined) reply(notLinkedMessage(slackUserId));
    return caller;
  } catch (err) {
    replyError(deps, reply, err);
    return undefined;
  }
}

/** The one place an error reaches a Slack user. Unexpected ones are logged with a reference. */
export function replyError(deps: ListenerDeps, reply: Reply, err: unknown): void {
  const reference = `ref-${deps.ctx.random.secret(6)}`;
  if (!(err instanceof DbwardError) || err.code === "internal") {
    deps.logger.error({ err, reference }, "Slack listener failed");
  }
  reply(plainReply(messageForError(err, reference)));
}

export async function cardFor(ctx: BotContext, id: RequestId): Promise<RequestCard> {
  return cardOf(await describeRequest(ctx, id));
}

/** JSON `private_metadata` of a modal, or an empty object when it is missing or not JSON. */
export function parseMetadata(text: string | undefined): Record<string, unknown> {
  try {
    const v: unknown = JSON.parse(text ?? "{}");
    return typeof v === "object" && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}
