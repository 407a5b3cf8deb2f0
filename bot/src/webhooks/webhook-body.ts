/**
 * What a webhook says: which request event happened, to which request, by whom, with the SQL
 * redacted (SECURITY.md: information leaks). Literals become `?`; a text that cannot be redacted
 * reliably is replaced by `sha256:<hex>` alone. Free text — the request's reason, a rejection
 * comment, a break-glass reason, a database error message — is left out because it can quote
 * data; a receiver that needs it asks the API with its own token. The redacted SQL is for people
 * (a chat channel, a ticket), so it is drawn with `displaySql`: an invisible character left in an
 * identifier shows as `⟨U+XXXX⟩`.
 */
import { displaySql, redactSql, sqlFingerprint, type SqlDialect } from "@dbward/shared";
import type { WebhookEvent } from "../config/webhooks-config.ts";

/** The audit actions that are webhook events. Partial approvals and dispatch steps are not. */
export const EVENT_FOR_ACTION: ReadonlyMap<string, WebhookEvent> = new Map(
  Object.entries({
    "request.created": "request.created",
    "request.approved": "request.approved",
    "request.auto_approved": "request.approved",
    "request.rejected": "request.rejected",
    "request.executed": "request.executed",
    "request.failed": "request.failed",
    "request.timed_out": "request.failed",
    "execution.refused": "request.failed",
    "request.break_glass": "request.break_glass",
    "request.lost": "request.lost",
    "request.expired": "request.expired",
  } satisfies Record<string, WebhookEvent>),
);

export const BODY_VERSION = 1;

export interface WebhookBody {
  readonly type: WebhookEvent;
  readonly version: typeof BODY_VERSION;
  /** The audit event this notification stands for: look it up with `dbward audit list`. */
  readonly audit_seq: number;
  readonly occurred_at: string;
  readonly actor: string;
  /** The audit action behind the event (`request.timed_out` for a `request.failed`, …). */
  readonly action: string;
  readonly request: {
    readonly id: number;
    readonly database: string;
    readonly environment: string;
    readonly operation: string;
    readonly requester: string;
    /** The SQL with every literal as `?`, or `sha256:<hex>` when it cannot be redacted. */
    readonly sql_redacted: string;
    readonly sql_sha256: string;
  };
}

export interface RequestFacts {
  readonly id: number;
  readonly database: string;
  readonly environment: string;
  readonly operation: string;
  readonly requester: string;
  readonly sqlText: string;
  readonly sqlSha256: string;
}

export interface AuditFacts {
  readonly seq: number;
  readonly time: string;
  readonly actor: string;
  readonly action: string;
}

/** `dialect` is undefined when the database left the config: then only the hash is sent. */
export function webhookBody(
  type: WebhookEvent,
  audit: AuditFacts,
  r: RequestFacts,
  dialect: SqlDialect | undefined,
): WebhookBody {
  return {
    type,
    version: BODY_VERSION,
    audit_seq: audit.seq,
    occurred_at: audit.time,
    actor: audit.actor,
    action: audit.action,
    request: {
      id: r.id,
      database: r.database,
      environment: r.environment,
      operation: r.operation,
      requester: r.requester,
      sql_redacted: dialect === undefined ? sqlFingerprint(r.sqlText) : safeRedact(r.sqlText, dialect),
      sql_sha256: r.sqlSha256,
    },
  };
}

/** A redactor that throws must not leak the text through an error path: hash instead. */
function safeRedact(sql: string, dialect: SqlDialect): string {
  try {
    return displaySql(redactSql(sql, dialect));
  } catch {
    return sqlFingerprint(sql);
  }
}
