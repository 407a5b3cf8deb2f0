/**
 * The one way a refused authentication is audited (`auth.failed`, outcome `denied`), whichever
 * door it came through: a bad or missing bearer token, a rejected OIDC token, a forged, stale or
 * replayed Slack request, a suspended user. The failure is the only thing recorded; the request
 * itself is never read further.
 */
import { appendAudit } from "../audit/audit-log.ts";
import { inTransaction } from "../store/in-transaction.ts";
import type { BotContext } from "./bot-context.ts";

export interface AuthFailure {
  /** `anonymous` when nobody was identified; `user:<id>` for a known but refused user. */
  readonly actor?: string;
  /** Why, and through what: never the credential itself. */
  readonly details: Record<string, unknown>;
}

export async function recordAuthFailure(ctx: BotContext, f: AuthFailure): Promise<void> {
  await inTransaction(ctx.store, (tx) =>
    appendAudit(
      tx,
      {
        actor: f.actor ?? "anonymous",
        action: "auth.failed",
        target: "",
        outcome: "denied",
        details: f.details,
      },
      ctx.clock.now(),
    ),
  );
}
