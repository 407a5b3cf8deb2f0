/**
 * `/dbward` and its subcommands. Ack at once (Slack's 3-second limit), then: who is asking →
 * parse → one use case → a view, sent privately through the command's `response_url`.
 */
import type { App, SlashCommand as BoltSlashCommand } from "@slack/bolt";
import { cancelRequest } from "../../use-cases/cancel-request.ts";
import type { UserCaller } from "../../use-cases/caller.ts";
import { createRequest } from "../../use-cases/create-request.ts";
import { listAwaitingDecision } from "../../use-cases/list-awaiting-decision.ts";
import { listRequestableTargets } from "../../use-cases/list-requestable-targets.ts";
import { getRequest, listVisibleRequests } from "../../use-cases/read-requests.ts";
import { parseSlashCommand, type QueryDraft } from "../command-parser.ts";
import { SLACK_IDS } from "../ids.ts";
import { approvalMessage } from "../views/approval-message.ts";
import { MAX_INPUT_CHARS, queryModal } from "../views/modals.ts";
import { createdMessage, helpMessage, listMessage, plainReply } from "../views/replies.ts";
import { openAdminModal } from "./admin.ts";
import { openJoinModal } from "./join.ts";
import { cardFor, identify, replyError, replyTo, type ListenerDeps, type Reply } from "./listener-kit.ts";

export function registerCommands(app: App, deps: ListenerDeps): void {
  app.command(SLACK_IDS.command, async ({ command, ack }) => {
    await ack();
    deps.afterAck.run(() => handleCommand(deps, command));
  });
}

async function handleCommand(deps: ListenerDeps, command: BoltSlashCommand): Promise<void> {
  const reply = replyTo(deps, command.trigger_id, { via: "response_url", url: command.response_url });
  if (/^\s*join\s*$/i.test(command.text)) {
    await openJoinModal(deps, command.user_id, command.user_name, command.trigger_id, reply);
    return;
  }
  const caller = await identify(deps, command.user_id, reply);
  if (caller === undefined) return;
  if (/^\s*admin\s*$/i.test(command.text)) {
    await openAdminModal(deps, caller, command.trigger_id, reply);
    return;
  }
  const parsed = parseSlashCommand(command.text, deps.ctx.config().databases);
  try {
    switch (parsed.kind) {
      case "help":
        reply(helpMessage(caller.user.name, caller.user.roles));
        return;
      case "usage":
        reply(plainReply(parsed.message));
        return;
      case "status": {
        await getRequest(deps.ctx, caller, parsed.id);
        const card = await cardFor(deps.ctx, parsed.id);
        reply(approvalMessage(card, { showSql: true, buttons: false }));
        return;
      }
      case "list": {
        const [mine, waiting] = await Promise.all([
          listVisibleRequests(deps.ctx, caller, { mine: true, limit: 10 }),
          listAwaitingDecision(deps.ctx, caller),
        ]);
        reply(listMessage(mine, waiting));
        return;
      }
      case "cancel": {
        const done = await cancelRequest(deps.ctx, caller, parsed.id, parsed.reason || "cancelled in Slack");
        reply(plainReply(`Request #${done.id} is cancelled.`));
        return;
      }
      case "query":
        await query(deps, caller, parsed.draft, command.trigger_id, reply);
        return;
    }
  } catch (err) {
    replyError(deps, reply, err);
  }
}

/** A complete one-line query creates the request; anything less opens the form. */
async function query(
  deps: ListenerDeps,
  caller: UserCaller,
  draft: QueryDraft,
  triggerId: string,
  reply: Reply,
): Promise<void> {
  const { database, environment, sql, reason } = draft;
  if (database !== undefined && environment !== undefined && sql !== undefined && reason !== undefined) {
    const created = await createRequest(deps.ctx, caller, { database, environment, sql, reason });
    reply(createdMessage(await cardFor(deps.ctx, created.id)));
    return;
  }
  if (sql !== undefined && sql.length > MAX_INPUT_CHARS) {
    reply(
      plainReply(
        `This SQL is longer than the form can hold (${MAX_INPUT_CHARS} characters). Give everything on one line: ` +
          '`/dbward query <database> <environment> "<reason>" <sql>`.',
      ),
    );
    return;
  }
  const targets = listRequestableTargets(deps.ctx, caller);
  await deps.calls.openView(triggerId, queryModal(targets, draft));
}
