/**
 * Keeps people's Home tabs current. A tab is drawn when its owner opens it (`app_home_opened`,
 * which Slack sends on every open), and redrawn after a committed change to a request it shows
 * or one that now concerns its owner (their own, or one they may now decide), and, for admins,
 * after a join request is made or decided in Slack.
 *
 * Only people who opened the tab are redrawn on change: a tab nobody looks at costs Slack calls
 * (views.publish is rate-limited per workspace) for nothing, and any tab is drawn fresh the moment
 * it is opened. Who follows a tab, and what it showed when last drawn, is in the state store
 * (store/home-tabs-repo.ts): a change committed on any bot instance redraws a tab opened through
 * another, and a restart forgets no follower. Tabs not opened for FORGET_AFTER_MS are forgotten,
 * and at most MAX_FOLLOWED are kept (the pruning job, leader-jobs.ts). A redraw is an outbox row
 * (`home`), so it survives a restart and is retried; redraws of one person coalesce: however many
 * changes arrive while one waits, it draws the state as it is when it runs.
 */
import type { RequestId } from "@dbward/shared";
import type { User } from "../identity/users.ts";
import {
  followHomeTab,
  forgetOldHomeTabs,
  listHomeTabsFor,
  listHomeTabsShowingJoins,
  saveHomeTabShown,
} from "../store/home-tabs-repo.ts";
import type { Store } from "../store/open-store.ts";
import type { BotContext } from "../use-cases/bot-context.ts";
import { describeHome } from "../use-cases/describe-home.ts";
import type { Delivery } from "./delivery.ts";
import type { SlackCalls } from "./slack-calls.ts";
import { homeView } from "./views/home.ts";

/** Tabs followed at most; the least recently opened are forgotten first. */
export const MAX_FOLLOWED = 20_000;

/** A tab not opened for this long is no longer followed (drawn fresh when next opened). */
export const FORGET_AFTER_MS = 30 * 24 * 3_600_000;

export class HomeTabs {
  constructor(
    private readonly ctx: BotContext,
    private readonly calls: SlackCalls,
    /** Writes outbox rows and wakes the sender. */
    private readonly enqueue: (deliveries: readonly Delivery[]) => Promise<void>,
  ) {}

  /** The person opened their Home tab: draw it now, and follow it from here on. */
  async opened(slackUserId: string): Promise<void> {
    await followHomeTab(this.ctx.store, slackUserId, this.ctx.clock.now());
    await this.redraw([slackUserId]);
  }

  /** A request changed: redraw the followed tabs that show it or whose owners it concerns. */
  async requestChanged(id: RequestId, concerned: readonly User[]): Promise<void> {
    const owners = concerned.flatMap((u) => (u.slackUserId === null ? [] : [u.slackUserId]));
    await this.redraw(await listHomeTabsFor(this.ctx.store, id, owners));
  }

  /** A join request was made or decided: redraw the followed tabs that list them. */
  async joinRequestsChanged(): Promise<void> {
    await this.redraw(await listHomeTabsShowingJoins(this.ctx.store));
  }

  private async redraw(users: readonly string[]): Promise<void> {
    if (users.length > 0) await this.enqueue(users.map((user) => ({ kind: "home", user })));
  }

  /** The `home` delivery: draws the tab as it is now; throws when Slack does not take it. */
  async draw(slackUserId: string): Promise<void> {
    const home = await describeHome(this.ctx, slackUserId);
    await this.calls.publishHome(slackUserId, homeView(home));
    const requestIds = home.kind === "active" ? [...home.awaiting, ...home.recent].map((r) => r.id) : [];
    const showsJoins = home.kind === "active" && home.joinRequests !== undefined;
    await saveHomeTabShown(this.ctx.store, slackUserId, { requestIds, showsJoins });
  }
}

/** The pruning job's part (leader-jobs.ts): keeps the followed tabs bounded. */
export function forgetUnopenedHomeTabs(store: Store, now: Date): Promise<void> {
  return forgetOldHomeTabs(store, new Date(now.getTime() - FORGET_AFTER_MS), MAX_FOLLOWED);
}
