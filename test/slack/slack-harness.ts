/**
 * A real bot with Slack switched on, pointed at a fake Slack Web API, and a sender of signed
 * Slack requests. Users are linked to Slack ids; the approvals channel is C0APPROVALS.
 */
import type { AuditEvent } from "@dbward/shared";
import { listAudit } from "@dbward/bot";
import { FakeSlack, type SlackCall } from "../support/fake-slack.ts";
import { startBotHarness, type BotHarness } from "../support/bot-harness.ts";
import { SlackRequests } from "./slack-requests.ts";

export const SLACK_USERS = {
  alice: "U0ALICE01",
  bob: "U0BOB0001",
  carol: "U0CAROL01",
  dave: "U0DAVE001",
  olga: "U0OLGA001",
  sam: "U0SAM0001",
} as const;

export const APPROVALS_CHANNEL = "C0APPROVALS";

export const SLACK_TEST_CONFIG = `
databases:
  - name: shop
    dialect: postgres
    environments: [production, staging]
  - name: demo
    dialect: sqlite
    environments: [local]
workflows:
  - name: staging-reads
    database: shop
    environment: staging
    operations: [read]
    auto_approve: always
  - name: prod-reads
    database: shop
    environment: production
    operations: [read]
    steps:
      - approvers: ["role:approver"]
  - name: writes
    database: shop
    operations: [write, ddl]
    break_glass_roles: [approver]
    steps:
      - approvers: ["role:approver"]
users:
  - { id: alice, name: Alice, slack_user_id: ${SLACK_USERS.alice}, roles: [requester] }
  - { id: bob, name: Bob, slack_user_id: ${SLACK_USERS.bob}, roles: [approver] }
  - { id: carol, name: Carol, slack_user_id: ${SLACK_USERS.carol}, roles: [approver] }
  - { id: dave, name: Dave, slack_user_id: ${SLACK_USERS.dave}, roles: [requester, approver] }
  - { id: olga, name: Olga, slack_user_id: ${SLACK_USERS.olga}, roles: [operator] }
  - { id: sam, name: Sam, slack_user_id: ${SLACK_USERS.sam}, roles: [requester] }
  - { id: root, name: Root, roles: [admin] }
agents:
  - id: agent-1
bootstrap_admin: root
slack:
  approvals_channel: ${APPROVALS_CHANNEL}
  show_sql_in_channel: { staging: true }
  results:
    share_with: ["user:olga"]
    preview_rows: 5
`;

export interface SlackHarness {
  readonly h: BotHarness;
  readonly fake: FakeSlack;
  readonly slack: SlackRequests;
  /** Waits for every queued Slack delivery. */
  settle(): Promise<void>;
  audit(): Promise<AuditEvent[]>;
  /** Asks by slash command as `slackUser`; answers the new request's id once Slack has been told. */
  ask(slackUser: string, text: string): Promise<number>;
  stop(): Promise<void>;
}

/** `slackEnv` points the bot at a fake Slack running elsewhere (the benchmark's load process). */
export async function startSlackHarness(
  config = SLACK_TEST_CONFIG,
  slackEnv?: Record<string, string>,
): Promise<SlackHarness> {
  const fake = await FakeSlack.start();
  const h = await startBotHarness(config, {
    slack: {
      env: slackEnv ?? fake.env(),
      options: { retry: { attempts: 4, baseDelayMs: 5, maxDelayMs: 50 } },
    },
  });
  const adapter = h.bot.slack;
  if (adapter === undefined) throw new Error("Slack did not start");
  const slack = new SlackRequests(`${h.url}/slack/events`, fake);
  return {
    h,
    fake,
    slack,
    settle: () => adapter.idle(),
    audit: () => listAudit(h.bot.store),
    async ask(slackUser, text) {
      await slack.command(slackUser, text);
      await adapter.idle();
      const reply = textOf(fake.of("response_url").at(-1));
      const id = /Request #(\d+) created/.exec(reply)?.[1];
      if (id === undefined) throw new Error(`no request was created; the answer was: ${reply}`);
      return Number(id);
    },
    async stop() {
      await h.stop();
      await fake.close();
    },
  };
}

/** Every text a message carries: its `text` and the text inside its blocks, flattened. */
export function textOf(call: SlackCall | undefined): string {
  if (call === undefined) return "";
  const parts: string[] = [];
  const walk = (v: unknown): void => {
    if (typeof v === "string") parts.push(v);
    else if (Array.isArray(v)) v.forEach(walk);
    else if (typeof v === "object" && v !== null) {
      for (const [k, x] of Object.entries(v))
        if (k === "text" || k === "blocks" || k === "elements" || k === "fields" || k === "view") walk(x);
    }
  };
  walk(call.args.text);
  walk(call.args.blocks);
  walk(call.args.view);
  return parts.join("\n");
}

/** The action ids of the buttons in a message. */
/** The values of the `actionId` buttons drawn beside sections (accessories) of a published view. */
export function accessoryValues(call: SlackCall | undefined, actionId: string): string[] {
  const blocks = ((call?.args.view as { blocks?: unknown[] } | undefined)?.blocks ?? []) as {
    accessory?: { action_id: string; value: string };
  }[];
  return blocks.flatMap((b) => (b.accessory?.action_id === actionId ? [b.accessory.value] : []));
}

export function buttonsOf(call: SlackCall | undefined): string[] {
  const blocks = (call?.args.blocks ?? []) as {
    type: string;
    elements?: { type: string; action_id?: string }[];
  }[];
  return blocks
    .filter((b) => b.type === "actions")
    .flatMap((b) => b.elements ?? [])
    .filter((e) => e.type === "button")
    .map((e) => e.action_id ?? "");
}
