/**
 * The Slack calls that answer a person while they wait: opening, stacking and updating modals
 * (a `trigger_id` is good for 3 seconds, so there is nothing to queue) and reading a profile.
 * Retried briefly (call-retry.ts); each resolves to undefined once it finally failed (already
 * logged). Everything that must reach a person later goes through the outbox instead.
 */
import type { types } from "@slack/bolt";
import type { CallRetry } from "./call-retry.ts";
import type { SlackApi } from "./slack-api.ts";

export class InteractiveCalls {
  constructor(
    private readonly api: SlackApi,
    readonly retry: CallRetry,
  ) {}

  async openView(triggerId: string, view: types.ModalView): Promise<void> {
    await this.retry.attempt("views.open", () =>
      this.api.call("views.open", { trigger_id: triggerId, view }),
    );
  }

  /** Stacks a modal on the one the trigger came from (the admin forms). */
  async pushView(triggerId: string, view: types.ModalView): Promise<void> {
    await this.retry.attempt("views.push", () =>
      this.api.call("views.push", { trigger_id: triggerId, view }),
    );
  }

  async updateView(viewId: string, hash: string | undefined, view: types.ModalView): Promise<void> {
    await this.retry.attempt("views.update", () =>
      this.api.call("views.update", { view_id: viewId, ...(hash !== undefined ? { hash } : {}), view }),
    );
  }

  /** Name and email from a Slack profile (the admin's user picker); undefined when Slack does not say. */
  async profile(slackUserId: string): Promise<{ name?: string; email?: string } | undefined> {
    const res = await this.retry.attempt("users.info", () =>
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
}
