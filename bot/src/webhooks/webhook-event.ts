/**
 * A committed audit event seen as a webhook event: its type, the request it is about, and the body
 * every attempt sends. Built from the stored audit event and request row alone (plus the
 * database's dialect, for redaction), so a retry made by a later bot process rebuilds the bytes
 * the first attempt sent: the audit chain is the outbox, and bodies are not stored a second time.
 */
import { openValue, placeOf } from "../crypto/state-cipher.ts";
import type { BotConfig } from "../config/bot-config.ts";
import type { WebhookConfig, WebhookEvent } from "../config/webhooks-config.ts";
import type { Store } from "../store/open-store.ts";
import { EVENT_FOR_ACTION, webhookBody, type AuditFacts, type RequestFacts } from "./webhook-body.ts";
import type { AttemptKey } from "./webhook-deliveries.ts";

export interface StoredAudit extends AuditFacts {
  readonly target: string;
}

export interface WebhookEventFacts {
  readonly type: WebhookEvent;
  readonly audit: AuditFacts;
  readonly request: RequestFacts;
}

/** One attempt to make, with the webhook as the config names it when the attempt is queued. */
export interface Job {
  readonly hook: WebhookConfig;
  readonly key: Omit<AttemptKey, "attempt">;
  readonly body: string;
  readonly attempt: number;
}

export const WEBHOOK_ACTIONS: readonly string[] = [...EVENT_FOR_ACTION.keys()];

export async function loadAudit(store: Store, seq: number): Promise<StoredAudit | undefined> {
  return store
    .selectFrom("audit_events")
    .select(["seq", "time", "actor", "action", "target"])
    .where("seq", "=", seq)
    .executeTakeFirst();
}

/** Undefined when the audit event is not a request event, or its request is gone. */
export async function loadEvent(store: Store, audit: StoredAudit): Promise<WebhookEventFacts | undefined> {
  const type = EVENT_FOR_ACTION.get(audit.action);
  const id = /^request:(\d+)$/.exec(audit.target)?.[1];
  if (type === undefined || id === undefined) return undefined;
  const r = await store
    .selectFrom("requests")
    .select(["id", "database_name", "environment", "operation", "requester", "sql_text", "sql_sha256"])
    .where("id", "=", Number(id))
    .executeTakeFirst();
  if (r === undefined) return undefined;
  return {
    type,
    audit: { seq: audit.seq, time: audit.time, actor: audit.actor, action: audit.action },
    request: {
      id: r.id,
      database: r.database_name,
      environment: r.environment,
      operation: r.operation,
      requester: r.requester,
      sqlText: openValue(store, placeOf("requests", "sql_text", r.id), r.sql_text),
      sqlSha256: r.sql_sha256,
    },
  };
}

export function subscribes(w: WebhookConfig, e: WebhookEventFacts): boolean {
  return (
    (w.database === "*" || w.database === e.request.database) &&
    (w.environment === "*" || w.environment === e.request.environment) &&
    w.events.includes(e.type)
  );
}

export function eventBody(e: WebhookEventFacts, config: BotConfig): string {
  const dialect = config.databases.find((d) => d.name === e.request.database)?.dialect;
  return JSON.stringify(webhookBody(e.type, e.audit, e.request, dialect));
}

export function jobFor(hook: WebhookConfig, e: WebhookEventFacts, body: string, attempt: number): Job {
  return {
    hook,
    key: {
      deliveryId: `${e.audit.seq}.${hook.name}`,
      webhook: hook.name,
      event: e.type,
      auditSeq: e.audit.seq,
      requestId: e.request.id,
    },
    body,
    attempt,
  };
}
