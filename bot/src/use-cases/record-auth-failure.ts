/**
 * Audits a refused authentication that reached no use case: a forged, stale, future-dated or
 * replayed Slack request (SECURITY.md: forged or replayed Slack request). The failure is the only
 * thing recorded; the request itself is never read further.
 */
import { appendAudit } from "../audit/audit-log.ts";
import { inTransaction } from "../store/in-transaction.ts";
import type { BotContext } from "./bot-context.ts";

export interface AuthFailure {
  readonly via: "slack";
  readonly why: string;
  readonly path: string;
  readonly ip: string | null;
}

export async function recordAuthFailure(ctx: BotContext, f: AuthFailure): Promise<void> {
  await inTransaction(ctx.store, (tx) =>
    appendAudit(
      tx,
      {
        actor: "anonymous",
        action: "auth.failed",
        target: "",
        outcome: "denied",
        details: { kind: f.via, why: f.why, path: f.path, ip: f.ip },
      },
      ctx.clock.now(),
    ),
  );
}
