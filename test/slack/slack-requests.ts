/**
 * Sends signed requests to the bot's Slack endpoint in the shapes Slack uses: slash commands
 * form-encoded, interactions as `payload=<JSON>`, Events API callbacks as JSON. Payloads start from the fixtures in
 * test/fixtures/slack/ with the user, text, values and a fresh trigger id filled in; their
 * `response_url` points at the fake Slack, which records what is posted there.
 */
import { readFileSync } from "node:fs";
import { FAKE_SIGNING_SECRET, type FakeSlack } from "../support/fake-slack.ts";
import { signSlackRequest } from "../support/slack-signer.ts";

const fixture = (name: string): Record<string, unknown> =>
  JSON.parse(readFileSync(new URL(`../fixtures/slack/${name}`, import.meta.url), "utf8")) as Record<
    string,
    unknown
  >;

export const SLASH_COMMAND = fixture("slash-command.json");
export const BUTTON_CLICK = fixture("block-actions-button.json");
export const VIEW_SELECT = fixture("block-actions-view-select.json");
export const VIEW_SUBMISSION = fixture("view-submission.json");
export const HOME_OPENED = fixture("event-app-home-opened.json");

export interface SendOptions {
  /** Seconds since the epoch to sign with (default: now). */
  readonly timestamp?: number;
  /** Replaces the signature headers entirely (`{}` sends none). */
  readonly headers?: Record<string, string>;
}

export interface SlackResponse {
  readonly status: number;
  readonly text: string;
  /** What was sent, to replay it. */
  readonly sent: { body: string; headers: Record<string, string> };
}

export type ViewValues = Record<string, Record<string, Record<string, unknown>>>;

let triggers = 0;
const trigger = (): string => `${Date.now()}.${++triggers}.${Math.random().toString(16).slice(2, 10)}`;

export class SlackRequests {
  constructor(
    private readonly endpoint: string,
    private readonly fake: Pick<FakeSlack, "responseUrl">,
    private readonly secret = FAKE_SIGNING_SECRET,
  ) {}

  async send(body: string, o: SendOptions = {}): Promise<SlackResponse> {
    const headers = {
      "content-type": "application/x-www-form-urlencoded",
      ...(o.headers ?? signSlackRequest(this.secret, body, o.timestamp)),
    };
    return this.sendRaw(body, headers);
  }

  /** A JSON body (Events API), signed the same way. */
  async sendJson(value: unknown, o: SendOptions = {}): Promise<SlackResponse> {
    const body = JSON.stringify(value);
    const headers = {
      "content-type": "application/json",
      ...(o.headers ?? signSlackRequest(this.secret, body, o.timestamp)),
    };
    return this.sendRaw(body, headers);
  }

  /** Someone opens the app in Slack: the `app_home_opened` event, on the Home tab by default. */
  homeOpened(userId: string, tab: "home" | "messages" = "home", o: SendOptions = {}): Promise<SlackResponse> {
    return this.sendJson(homeOpenedEvent(userId, tab), o);
  }

  /** A button in a Home tab: block_actions from a `home` view, with no channel and no response_url. */
  clickInHome(userId: string, actionId: string, value: string): Promise<SlackResponse> {
    const base = BUTTON_CLICK as { actions: Record<string, unknown>[] };
    const rest = Object.fromEntries(
      Object.entries(BUTTON_CLICK).filter(([k]) => !["channel", "message", "response_url"].includes(k)),
    );
    return this.send(
      payload({
        ...rest,
        user: { id: userId, username: userId, name: userId, team_id: "T0DBWARD" },
        trigger_id: trigger(),
        container: { type: "view", view_id: `VHOME${userId}` },
        view: {
          id: `VHOME${userId}`,
          type: "home",
          callback_id: "dbward.home",
          team_id: "T0DBWARD",
          private_metadata: "",
          blocks: [],
          state: { values: {} },
          hash: "1700000000.home",
        },
        actions: [{ ...base.actions[0], action_id: actionId, value, action_ts: `${Date.now() / 1000}` }],
      }),
    );
  }

  async sendRaw(body: string, headers: Record<string, string>): Promise<SlackResponse> {
    const res = await fetch(this.endpoint, { method: "POST", headers, body });
    return { status: res.status, text: await res.text(), sent: { body, headers } };
  }

  commandBody(userId: string, text: string): string {
    const fields = {
      ...SLASH_COMMAND,
      user_id: userId,
      text,
      response_url: this.fake.responseUrl(),
      trigger_id: trigger(),
    };
    return new URLSearchParams(fields as Record<string, string>).toString();
  }

  command(userId: string, text: string, o: SendOptions = {}): Promise<SlackResponse> {
    return this.send(this.commandBody(userId, text), o);
  }

  clickBody(userId: string, actionId: string, value: string, channel = "C0APPROVALS"): string {
    const base = BUTTON_CLICK as { actions: Record<string, unknown>[]; container: Record<string, unknown> };
    return payload({
      ...BUTTON_CLICK,
      user: { id: userId, username: userId, name: userId, team_id: "T0DBWARD" },
      trigger_id: trigger(),
      response_url: this.fake.responseUrl(),
      channel: { id: channel, name: "dbward" },
      container: { ...base.container, channel_id: channel },
      actions: [{ ...base.actions[0], action_id: actionId, value, action_ts: `${Date.now() / 1000}` }],
    });
  }

  click(userId: string, actionId: string, value: string, channel?: string): Promise<SlackResponse> {
    return this.send(this.clickBody(userId, actionId, value, channel));
  }

  selectDatabase(userId: string, database: string, values: ViewValues = {}): Promise<SlackResponse> {
    const base = VIEW_SELECT as { actions: Record<string, unknown>[]; view: Record<string, unknown> };
    return this.send(
      payload({
        ...VIEW_SELECT,
        user: { id: userId, username: userId, name: userId, team_id: "T0DBWARD" },
        trigger_id: trigger(),
        view: { ...base.view, state: { values } },
        actions: [
          {
            ...base.actions[0],
            selected_option: { text: { type: "plain_text", text: database }, value: database },
          },
        ],
      }),
    );
  }

  /** A button inside an open modal (block_actions carrying the view). */
  clickInView(
    userId: string,
    actionId: string,
    value: string,
    view: { id: string; callback_id: string; private_metadata?: string },
  ): Promise<SlackResponse> {
    return this.send(this.clickInViewBody(userId, actionId, value, view));
  }

  clickInViewBody(
    userId: string,
    actionId: string,
    value: string,
    view: { id: string; callback_id: string; private_metadata?: string },
  ): string {
    const base = VIEW_SELECT as { view: Record<string, unknown> };
    return payload({
      ...VIEW_SELECT,
      user: { id: userId, username: userId, name: userId, team_id: "T0DBWARD" },
      trigger_id: trigger(),
      view: { ...base.view, ...view, private_metadata: view.private_metadata ?? "", state: { values: {} } },
      actions: [
        { type: "button", action_id: actionId, block_id: "b", value, action_ts: `${Date.now() / 1000}` },
      ],
    });
  }

  submitView(
    userId: string,
    callbackId: string,
    values: ViewValues,
    privateMetadata = "",
  ): Promise<SlackResponse> {
    return this.send(this.submitViewBody(userId, callbackId, values, privateMetadata));
  }

  submitViewBody(userId: string, callbackId: string, values: ViewValues, privateMetadata = ""): string {
    const base = VIEW_SUBMISSION as { view: Record<string, unknown> };
    return payload({
      ...VIEW_SUBMISSION,
      user: { id: userId, username: userId, name: userId, team_id: "T0DBWARD" },
      trigger_id: trigger(),
      view: { ...base.view, callback_id: callbackId, private_metadata: privateMetadata, state: { values } },
    });
  }
}

/** The Events API callback of `app_home_opened`, from its fixture, with a fresh event id. */
export function homeOpenedEvent(userId: string, tab: "home" | "messages" = "home"): Record<string, unknown> {
  const base = HOME_OPENED as { event: Record<string, unknown> };
  return {
    ...HOME_OPENED,
    event_id: `Ev${trigger().replace(/\W/g, "")}`,
    event_time: Math.floor(Date.now() / 1000),
    event: { ...base.event, user: userId, channel: `D${userId}`, tab, event_ts: `${Date.now() / 1000}` },
  };
}

/** The JSON of an interaction body (`payload=<JSON>`), as a Socket Mode envelope carries it. */
export function interactionPayload(body: string): Record<string, unknown> {
  return JSON.parse(new URLSearchParams(body).get("payload") ?? "{}") as Record<string, unknown>;
}

function payload(value: unknown): string {
  return new URLSearchParams({ payload: JSON.stringify(value) }).toString();
}

/** State values as Slack sends them for each kind of input. */
export const input = {
  text: (value: string | null) => ({ type: "plain_text_input", value }),
  select: (value: string | null) => ({
    type: "static_select",
    selected_option: value === null ? null : { text: { type: "plain_text", text: value }, value },
  }),
  radio: (value: string | null) => ({
    type: "radio_buttons",
    selected_option: value === null ? null : { text: { type: "plain_text", text: value }, value },
  }),
  /** A datetimepicker: Slack sends the choice as UNIX seconds. */
  dateTime: (seconds: number | null) => ({ type: "datetimepicker", selected_date_time: seconds }),
};
