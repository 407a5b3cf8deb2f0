import type { DbwardError } from "@dbward/shared";
import { appendAudit } from "../audit/audit-log.ts";
import { inTransaction } from "../store/in-transaction.ts";
import type { BotContext } from "./bot-context.ts";

/**
 * Audits a refused action in its own transaction (the refused change itself wrote nothing) and
 * throws the refusal. Refusals are evidence too: self-approval attempts, forbidden calls.
 */
export async function recordDenial(
  ctx: BotContext,
  args: {
    actor: string;
    action: string;
    target: string;
    error: DbwardError;
    details?: Record<string, unknown>;
  },
): Promise<never> {
  await inTransaction(ctx.store, (tx) =>
    appendAudit(
      tx,
      {
        actor: args.actor,
        action: args.action,
        target: args.target,
        outcome: "denied",
        details: { code: args.error.code, message: args.error.message, ...args.details },
      },
      ctx.clock.now(),
    ),
  );
  throw args.error;
}
