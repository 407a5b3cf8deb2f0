/**
 * One Slack delivery as the outbox stores it: a closed union, validated when a row is read back
 * (a row this version cannot read fails that row, never the sender). What a delivery draws is
 * read from stored state when it runs, not when it is queued, so a retry or a late run shows the
 * request as it is then; only a listener's answer carries its message, which nothing else could
 * rebuild.
 *
 * Each delivery names its lane (deliveries in one lane go out in order: one request's post, its
 * thread and its DMs; one person's Home tab; the answers to one interaction) and, where only the
 * newest drawing matters, a coalesce key.
 */
import { z } from "zod";
import type { RequestChange } from "../use-cases/bot-context.ts";
import { REMINDED } from "../use-cases/remind-approvers.ts";
import { EXPIRY_WARNED } from "../use-cases/warn-near-expiry.ts";

const requestId = z.number().int().positive();
const slackId = z.string().min(1).max(64);

const messageSchema = z
  .object({ text: z.string(), blocks: z.array(z.record(z.string(), z.unknown())) })
  .strict();

/** Where a listener's answer goes. */
export const replyTargetSchema = z.discriminatedUnion("via", [
  /** The `response_url` of a command or click: ephemeral, valid for 30 minutes (Slack). */
  z.object({ via: z.literal("response_url"), url: z.string().url() }).strict(),
  z.object({ via: z.literal("ephemeral"), channel: slackId, user: slackId }).strict(),
  z.object({ via: z.literal("dm"), user: slackId }).strict(),
]);
export type ReplyTarget = z.infer<typeof replyTargetSchema>;

export const deliverySchema = z.discriminatedUnion("kind", [
  /** The request's post in the approvals channel, redrawn (or posted when it has none yet). */
  z.object({ kind: z.literal("request_post"), request: requestId }).strict(),
  /** One line of the request's story in its post's thread. */
  z
    .object({ kind: z.literal("thread_step"), request: requestId, action: z.string(), actor: z.string() })
    .strict(),
  /** DMs with buttons to the approvers who may decide now; earlier ones redrawn. */
  z.object({ kind: z.literal("approver_dms"), request: requestId }).strict(),
  /**
   * The newest reminder (remind-approvers.ts) to the approvers who may decide now: one DM per
   * approver and step, updated by later reminders, and a line in the post's thread.
   */
  z.object({ kind: z.literal("reminder"), request: requestId }).strict(),
  /** The requester hears that their request was decided or finished. */
  z
    .object({
      kind: z.literal("requester_notice"),
      request: requestId,
      action: z.string(),
      actor: z.string(),
    })
    .strict(),
  /** A read's result to the people the result policy names (and the thread, if configured). */
  z.object({ kind: z.literal("result"), request: requestId }).strict(),
  /** A person's Home tab, drawn as it is when the delivery runs. */
  z.object({ kind: z.literal("home"), user: slackId }).strict(),
  /** A listener's answer to the person who acted. */
  z
    .object({
      kind: z.literal("reply"),
      lane: z.string().min(1).max(200),
      to: replyTargetSchema,
      message: messageSchema,
    })
    .strict(),
]);
export type Delivery = z.infer<typeof deliverySchema>;
export type DeliveryKind = Delivery["kind"];

/** What the outbox stores for a delivery besides its JSON. */
export interface Routed {
  readonly delivery: Delivery;
  readonly lane: string;
  /** A pending, not yet started row with this key already draws the newest state. */
  readonly coalesceKey: string | null;
}

export function route(delivery: Delivery): Routed {
  switch (delivery.kind) {
    case "request_post":
    case "approver_dms":
    case "reminder":
      return {
        delivery,
        lane: `request:${delivery.request}`,
        coalesceKey: `${delivery.kind}:${delivery.request}`,
      };
    case "thread_step":
    case "requester_notice":
    case "result":
      return { delivery, lane: `request:${delivery.request}`, coalesceKey: null };
    case "home":
      return { delivery, lane: `home:${delivery.user}`, coalesceKey: `home:${delivery.user}` };
    case "reply":
      return { delivery, lane: delivery.lane, coalesceKey: null };
  }
}

/**
 * The deliveries a committed change of a request causes, in the order they go out. Each decides
 * when it runs whether it has anything to say (a thread step for a change the story does not
 * tell, a result for a write), so this plan does not depend on state the transaction may not
 * have written yet.
 */
export function deliveriesForChange(change: RequestChange): Delivery[] {
  const request = change.requestId;
  const { action, actor } = change;
  // Nudges change nothing the post shows: a reminder is its own DMs, a near expiry the requester's.
  if (action === REMINDED) return [{ kind: "reminder", request }];
  if (action === EXPIRY_WARNED) return [{ kind: "requester_notice", request, action, actor }];
  return [
    { kind: "request_post", request },
    { kind: "thread_step", request, action, actor },
    { kind: "approver_dms", request },
    { kind: "requester_notice", request, action, actor },
    ...(action === "request.finished" ? [{ kind: "result" as const, request }] : []),
  ];
}
