/**
 * Run again (issue 13), as the CLI and the MCP server both ask for it: read the original, then
 * create a new request with its database, environment and SQL, linked by `rerun_of`. It is an
 * ordinary `POST /api/requests`: the bot reviews the SQL and matches a workflow again, so the new
 * request waits for the approvals that workflow requires; the link approves nothing. Only the
 * original's requester may do it, and only once the original is final: the bot checks both.
 */
import type { RequestView } from "@dbward/shared";
import type { ApiClient } from "./api-client.ts";

export interface RerunOptions {
  /** Why it needs to run (default: the original's reason). */
  readonly reason?: string | undefined;
  /** Sent as `Idempotency-Key`: the same key again answers the request the first call created. */
  readonly idempotencyKey?: string | undefined;
}

export async function rerunRequest(
  client: ApiClient,
  id: number,
  opts: RerunOptions = {},
): Promise<RequestView> {
  const original = await client.get<RequestView>(`/api/requests/${id}`);
  const body = {
    database: original.database,
    environment: original.environment,
    sql: original.sql,
    reason: opts.reason ?? original.reason,
    rerun_of: id,
  };
  return client.post<RequestView>(
    "/api/requests",
    body,
    opts.idempotencyKey === undefined ? {} : { idempotencyKey: opts.idempotencyKey },
  );
}
