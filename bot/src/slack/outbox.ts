/**
 * Everything the adapter sends to Slack, as one call each, retried by the delivery queue. Each
 * method resolves to what Slack answered, or undefined when the call finally failed (already
 * logged): callers carry on without it, because the change behind the message has committed.
 */
import type { types } from "@slack/bolt";
import type { DeliveryQueue } from "./delivery-queue.ts";
import type { MessageRef } from "./message-refs.ts";
import type { SlackApi } from "./slack-api.ts";
import type { SlackMessage } from "./views/blocks.ts";

export class Outbox {
  /** DM channel ids by Slack user id: stable for a user, so opened once. */
  private readonly dmChannels = new Map<string, string>();

  constructor(
    private readonly api: SlackApi,
    readonly queue: DeliveryQueue,
  ) {}

  /** An ephemeral reply through the `response_url` of a slash command or a button click. */
  async respond(responseUrl: string, m: SlackMessage): Promise<void> {
    await this.queue.attempt("response_url", () =>
      this.api.respond(responseUrl, { response_type: "ephemeral", replace_original: false, ...m }),
    );
  }

  async ephemeral(channel: string, user: string, m: SlackMessage): Promise<void> {
    await this.queue.attempt("chat.postEphemeral", () =>
      this.api.call("chat.postEphemeral", { channel, user, ...m }),
    );
  }

  async post(channel: string, m: SlackMessage, threadTs?: string): Promise<MessageRef | undefined> {
    const res = await this.queue.attempt("chat.postMessage", () =>
      this.api.call("chat.postMessage", {
        channel,
        ...m,
        unfurl_links: false,
        unfurl_media: false,
        ...(threadTs !== undefined ? { thread_ts: threadTs } : {}),
      }),
    );
    return typeof res?.channel === "string" && typeof res.ts === "string"
      ? { channel: res.channel, ts: res.ts }
      : undefined;
  }

  async update(ref: MessageRef, m: SlackMessage): Promise<void> {
    await this.queue.attempt("chat.update", () =>
      this.api.call("chat.update", { channel: ref.channel, ts: ref.ts, ...m }),
    );
  }

  async dm(slackUserId: string, m: SlackMessage): Promise<MessageRef | undefined> {
    const channel = await this.dmChannel(slackUserId);
    return channel === undefined ? undefined : this.post(channel, m);
  }

  async dmChannel(slackUserId: string): Promise<string | undefined> {
    const known = this.dmChannels.get(slackUserId);
    if (known !== undefined) return known;
    const res = await this.queue.attempt("conversations.open", () =>
      this.api.call("conversations.open", { users: slackUserId }),
    );
    const channel = (res?.channel as { id?: unknown } | undefined)?.id;
    if (typeof channel !== "string") return undefined;
    this.dmChannels.set(slackUserId, channel);
    return channel;
  }

  async openView(triggerId: string, view: types.ModalView): Promise<void> {
    await this.queue.attempt("views.open", () =>
      this.api.call("views.open", { trigger_id: triggerId, view }),
    );
  }

  /** Name and email from a Slack profile (the admin's user picker); undefined when Slack does not say. */
  async profile(slackUserId: string): Promise<{ name?: string; email?: string } | undefined> {
    const res = await this.queue.attempt("users.info", () =>
      this.api.call("users.info", { user: slackUserId }),
    );
    const user = res?.user as
      { real_name?: unknown; name?: unknown; profile?: Record<string, unknown> } | undefined;
    if (user === undefined) return undefined;
    const text = (v: unknown): string | undefined =>
      typeof v === "string" && v.trim() !== "" ? v.trim() : undefined;
    const name =
      text(user.profile?.real_name) ??
      text(user.real_name) ??
      text(user.profile?.display_name) ??
      text(user.name);
    const email = text(user.profile?.email);
    return { ...(name !== undefined ? { name } : {}), ...(email !== undefined ? { email } : {}) };
  }

  /** Stacks a modal on the one the trigger came from (the admin forms). */
  async pushView(triggerId: string, view: types.ModalView): Promise<void> {
    await this.queue.attempt("views.push", () =>
      this.api.call("views.push", { trigger_id: triggerId, view }),
    );
  }

  async updateView(viewId: string, hash: string | undefined, view: types.ModalView): Promise<void> {
    await this.queue.attempt("views.update", () =>
      this.api.call("views.update", { view_id: viewId, ...(hash !== undefined ? { hash } : {}), view }),
    );
  }

  /** Draws a person's Home tab; true when Slack took it. */
  async publishHome(slackUserId: string, view: types.HomeView): Promise<boolean> {
    const res = await this.queue.attempt("views.publish", () =>
      this.api.call("views.publish", { user_id: slackUserId, view }),
    );
    return res !== undefined;
  }

  /** Slack's external upload flow: get an upload URL, send the bytes, complete into a channel. */
  async uploadFile(
    channel: string,
    file: { filename: string; title: string; content: string },
    threadTs?: string,
  ): Promise<boolean> {
    const bytes = Buffer.from(file.content, "utf8");
    const got = await this.queue.attempt("files.getUploadURLExternal", () =>
      this.api.call("files.getUploadURLExternal", { filename: file.filename, length: bytes.length }),
    );
    const url = got?.upload_url;
    const id = got?.file_id;
    if (typeof url !== "string" || typeof id !== "string") return false;
    const sent = await this.queue.attempt("file upload", async () => {
      await this.api.uploadBytes(url, bytes);
      return true;
    });
    if (sent !== true) return false;
    const done = await this.queue.attempt("files.completeUploadExternal", () =>
      this.api.call("files.completeUploadExternal", {
        files: [{ id, title: file.title }],
        channel_id: channel,
        ...(threadTs !== undefined ? { thread_ts: threadTs } : {}),
      }),
    );
    return done !== undefined;
  }
}
