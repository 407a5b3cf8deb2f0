/**
 * The Slack calls the outbox sender makes, one try each: a failure throws the `SlackCallError`
 * that says whether a retry can help, and the sender reschedules the delivery in the store
 * (slack-sender.ts) instead of sleeping on it in memory. At most MAX_CONCURRENT_CALLS run at once:
 * Slack rate-limits bursts, and a burst of sockets helps nobody.
 */
import type { types } from "@slack/bolt";
import type { MessageRef } from "./message-refs.ts";
import { SlackCallError, type SlackApi } from "./slack-api.ts";
import type { SlackMessage } from "./views/blocks.ts";

const MAX_CONCURRENT_CALLS = 16;

export class SlackCalls {
  /** DM channel ids by Slack user id: stable for a user, so opened once. */
  private readonly dmChannels = new Map<string, string>();
  private calling = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(private readonly api: SlackApi) {}

  /** An ephemeral reply through the `response_url` of a slash command or a button click. */
  async respond(responseUrl: string, m: SlackMessage): Promise<void> {
    await this.limited(() =>
      this.api.respond(responseUrl, { response_type: "ephemeral", replace_original: false, ...m }),
    );
  }

  async ephemeral(channel: string, user: string, m: SlackMessage): Promise<void> {
    await this.limited(() => this.api.call("chat.postEphemeral", { channel, user, ...m }));
  }

  async post(channel: string, m: SlackMessage, threadTs?: string): Promise<MessageRef> {
    const res = await this.limited(() =>
      this.api.call("chat.postMessage", {
        channel,
        ...m,
        unfurl_links: false,
        unfurl_media: false,
        ...(threadTs !== undefined ? { thread_ts: threadTs } : {}),
      }),
    );
    if (typeof res.channel !== "string" || typeof res.ts !== "string")
      throw new SlackCallError("chat.postMessage", "no_message_ref", false);
    return { channel: res.channel, ts: res.ts };
  }

  async update(ref: MessageRef, m: SlackMessage): Promise<void> {
    await this.limited(() => this.api.call("chat.update", { channel: ref.channel, ts: ref.ts, ...m }));
  }

  async dm(slackUserId: string, m: SlackMessage): Promise<MessageRef> {
    return this.post(await this.dmChannel(slackUserId), m);
  }

  async dmChannel(slackUserId: string): Promise<string> {
    const known = this.dmChannels.get(slackUserId);
    if (known !== undefined) return known;
    const res = await this.limited(() => this.api.call("conversations.open", { users: slackUserId }));
    const channel = (res.channel as { id?: unknown } | undefined)?.id;
    if (typeof channel !== "string") throw new SlackCallError("conversations.open", "no_channel", false);
    this.dmChannels.set(slackUserId, channel);
    return channel;
  }

  async publishHome(slackUserId: string, view: types.HomeView): Promise<void> {
    await this.limited(() => this.api.call("views.publish", { user_id: slackUserId, view }));
  }

  /** Slack's external upload flow: get an upload URL, send the bytes, complete into a channel. */
  async uploadFile(
    channel: string,
    file: { filename: string; title: string; content: string },
    threadTs?: string,
  ): Promise<void> {
    const bytes = Buffer.from(file.content, "utf8");
    const got = await this.limited(() =>
      this.api.call("files.getUploadURLExternal", { filename: file.filename, length: bytes.length }),
    );
    const url = got.upload_url;
    const id = got.file_id;
    if (typeof url !== "string" || typeof id !== "string")
      throw new SlackCallError("files.getUploadURLExternal", "no_upload_url", false);
    await this.limited(() => this.api.uploadBytes(url, bytes));
    await this.limited(() =>
      this.api.call("files.completeUploadExternal", {
        files: [{ id, title: file.title }],
        channel_id: channel,
        ...(threadTs !== undefined ? { thread_ts: threadTs } : {}),
      }),
    );
  }

  private async limited<T>(call: () => Promise<T>): Promise<T> {
    if (this.calling >= MAX_CONCURRENT_CALLS) await new Promise<void>((r) => this.waiting.push(r));
    this.calling += 1;
    try {
      return await call();
    } finally {
      this.calling -= 1;
      this.waiting.shift()?.();
    }
  }
}
