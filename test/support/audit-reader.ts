/** Reading the audit chain and error bodies through the API, for tests that assert what was recorded. */
import assert from "node:assert/strict";
import type { AuditEventView, AuditListView, ErrorBody } from "@dbward/shared";
import type { BotHarness } from "./bot-harness.ts";

/** Every audit event after `afterSeq`, read through the API as the bootstrap admin. */
export async function auditAfter(h: BotHarness, afterSeq = 0): Promise<AuditEventView[]> {
  const events: AuditEventView[] = [];
  for (let seq = afterSeq; ;) {
    const res = await h.call(h.adminToken, "GET", `/api/audit?after=${seq}&limit=1000`);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const page = (res.body as AuditListView).events;
    events.push(...page);
    const last = page.at(-1);
    if (last === undefined) return events;
    seq = last.seq;
  }
}

/** The sequence number of the newest event. */
export async function auditHead(h: BotHarness): Promise<number> {
  return (await auditAfter(h)).at(-1)?.seq ?? 0;
}

export function errorOf(res: { body: unknown }): ErrorBody["error"] {
  const body = res.body as Partial<ErrorBody> | undefined;
  assert.ok(body?.error !== undefined, `expected an error body, got ${JSON.stringify(res.body)}`);
  return body.error;
}

/** A config fragment that keeps the auth-failure rate limit out of the way of refusal tests. */
export const GENEROUS_LIMITS = `
http:
  rate_limits:
    auth_failures: { burst: 100000, per_minute: 1000000 }
    request_create: { burst: 100000, per_minute: 1000000 }
`;
