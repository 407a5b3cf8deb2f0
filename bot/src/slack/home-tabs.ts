/**
 * Keeps people's Home tabs current. A tab is drawn when its owner opens it (`app_home_opened`,
 * which Slack sends on every open), and redrawn after a committed change to a request it shows
 * or one that now concerns its owner (their own, or one they may now decide), and, for admins,
 * after a join request is made or decided in Slack.
 *
 * Only people who opened the tab since this process started are redrawn on change: a tab nobody
 * looks at costs Slack calls (views.publish is rate-limited per workspace) for nothing, and any
 * tab is drawn fresh the moment it is opened. A redraw is an outbox row (`home`), so it survives
 * a restart and is retried; redraws of one person coalesce: however many changes arrive while one
 * waits, it draws the state as it is when it runs.
 */
import type { RequestId } from "@dbward/shared";
import type { User } from "../identity/users.ts";
import type { BotContext } from "../use-cases/bot-context.ts";
import { describeHome } from "../use-cases/describe-home.ts";
import type { Delivery } from "./delivery.ts";
import type { SlackCalls } from "./slack-calls.ts";
import { homeView } from "./views/home.ts";

/** Tabs followed at most; the least recently opened are forgotten first. */
const MAX_FOLLOWED = 20_000;

export class HomeTabs {
  /** Slack user id → the request ids their tab shows; in order of last opening. */
  private readonly followed = new Map<string, ReadonlySet<number>>();
  /** Followed tabs drawn with the join requests section (their owners may decide them). */
  private readonly showingJoins = new Set<string>();

  constructor(
    private readonly ctx: BotContext,
    private readonly calls: SlackCalls,
    /** Writes outbox rows and wakes the sender. */
    private readonly enqueue: (deliveries: readonly Delivery[]) => Promise<void>,
    private readonly maxFollowed = MAX_FOLLOWED,
  ) {}

  /** The person opened their Home tab: draw it now, and follow it from here on. */
  async opened(slackUserId: string): Promise<void> {
    const shown = this.followed.get(slackUserId) ?? new Set<number>();
    // Re-inserted, so the map's order stays the order of last opening.
    this.followed.delete(slackUserId);
    this.followed.set(slackUserId, shown);
    for (const oldest of this.followed.keys()) {
      if (this.followed.size <= this.maxFollowed) break;
      this.followed.delete(oldest);
      this.showingJoins.delete(oldest);
    }
    await this.redraw([slackUserId]);
  }

  /** A request changed: redraw the followed tabs that show it or whose owners it concerns. */
  async requestChanged(id: RequestId, concerned: readonly User[]): Promise<void> {
    const users = new Set<string>();
    for (const u of concerned)
      if (u.slackUserId !== null && this.followed.has(u.slackUserId)) users.add(u.slackUserId);
    for (const [user, shown] of this.followed) if (shown.has(id)) users.add(user);
    await this.redraw([...users]);
  }

  /** A join request was made or decided: redraw the followed tabs that list them. */
  async joinRequestsChanged(): Promise<void> {
    await this.redraw([...this.showingJoins].filter((user) => this.followed.has(user)));
  }

  private async redraw(users: readonly string[]): Promise<void> {
    if (users.length > 0) await this.enqueue(users.map((user) => ({ kind: "home", user })));
  }

  /** The `home` delivery: draws the tab as it is now; throws when Slack does not take it. */
  async draw(slackUserId: string): Promise<void> {
    const home = await describeHome(this.ctx, slackUserId);
    await this.calls.publishHome(slackUserId, homeView(home));
    if (!this.followed.has(slackUserId)) return;
    const shown = home.kind === "active" ? [...home.awaiting, ...home.recent].map((r) => r.id) : [];
    this.followed.set(slackUserId, new Set(shown));
    if (home.kind === "active" && home.joinRequests !== undefined) this.showingJoins.add(slackUserId);
    else this.showingJoins.delete(slackUserId);
  }
}
