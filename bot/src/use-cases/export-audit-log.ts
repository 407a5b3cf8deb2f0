/**
 * Reading the audit trail out of the bot, for users with `audit.read`: the NDJSON export
 * (audit-export.ts) and the newest signed checkpoint. An export is itself audited, before the
 * first line is sent, so the trail records who took a copy of it.
 */
import type { SignedCheckpoint } from "@dbward/shared";
import { latestCheckpoint } from "../audit/audit-checkpoints.ts";
import { exportAudit } from "../audit/audit-export.ts";
import { appendAudit } from "../audit/audit-log.ts";
import { parseSince } from "../audit/parse-since.ts";
import { inTransaction } from "../store/in-transaction.ts";
import type { BotContext } from "./bot-context.ts";
import { actorOf, assertPermission, type UserCaller } from "./caller.ts";

export async function exportAuditLog(
  ctx: BotContext,
  caller: UserCaller,
  input: { readonly since: string | undefined },
): Promise<AsyncGenerator<string>> {
  assertPermission(caller, "audit.read");
  const now = ctx.clock.now();
  const since = input.since === undefined ? undefined : parseSince(input.since, now);
  await inTransaction(ctx.store, (tx) =>
    appendAudit(
      tx,
      {
        actor: actorOf(caller),
        action: "audit.exported",
        target: "",
        outcome: "success",
        details: { since: since?.toISOString() ?? null, via: caller.via },
      },
      now,
    ),
  );
  return exportAudit(ctx.store, { now, ...(since !== undefined ? { since } : {}) });
}

export async function readLatestCheckpoint(
  ctx: BotContext,
  caller: UserCaller,
): Promise<SignedCheckpoint | undefined> {
  assertPermission(caller, "audit.read");
  return latestCheckpoint(ctx.store);
}
