/**
 * Runs one outbox delivery by its kind: the complete switch the sender calls (slack-sender.ts).
 */
import { parseRequestId, type RequestId } from "@dbward/shared";
import type { Delivery, ReplyTarget } from "./delivery.ts";
import type { HomeTabs } from "./home-tabs.ts";
import {
  deliverResult,
  noticeRequester,
  notifyApprovers,
  postThreadStep,
  redrawRequestPost,
  type RequestDeliveryDeps,
} from "./request-deliveries.ts";
import { sendReminder } from "./reminder-delivery.ts";
import { SlackCallError } from "./slack-api.ts";
import type { SlackCalls } from "./slack-calls.ts";
import type { Progress, RunDelivery } from "./slack-sender.ts";
import type { SlackMessage } from "./views/blocks.ts";

export function deliveryRunner(d: RequestDeliveryDeps & { readonly home: HomeTabs }): RunDelivery {
  return async (delivery: Delivery, progress: Progress) => {
    switch (delivery.kind) {
      case "request_post":
        return redrawRequestPost(d, requestIdOf(delivery.request));
      case "thread_step":
        return postThreadStep(d, requestIdOf(delivery.request), delivery.action, delivery.actor);
      case "approver_dms":
        return notifyApprovers(d, requestIdOf(delivery.request));
      case "reminder":
        return sendReminder(d, requestIdOf(delivery.request), progress);
      case "requester_notice":
        return noticeRequester(d, requestIdOf(delivery.request), delivery.action, delivery.actor);
      case "result":
        return deliverResult(d, requestIdOf(delivery.request), progress);
      case "home":
        return d.home.draw(delivery.user);
      case "reply":
        return sendReply(d.calls, delivery.to, delivery.message as unknown as SlackMessage);
    }
  };
}

function requestIdOf(n: number): RequestId {
  const id = parseRequestId(n);
  if (id === undefined) throw new SlackCallError("outbox", "bad_request_id", false);
  return id;
}

async function sendReply(calls: SlackCalls, to: ReplyTarget, m: SlackMessage): Promise<void> {
  switch (to.via) {
    case "response_url":
      return calls.respond(to.url, m);
    case "ephemeral":
      return calls.ephemeral(to.channel, to.user, m);
    case "dm":
      await calls.dm(to.user, m);
  }
}
