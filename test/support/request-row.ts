/**
 * A `requests` row for store-level tests that need a request to hang executions or results on,
 * without going through request creation: a read on shop/production by alice, every JSON column
 * empty; a test names what matters to it (id, status, times, database).
 */
import type { Insertable } from "kysely";
import type { RequestsTable } from "../../bot/src/store/tables.ts";

export function requestRow(
  r: Pick<Insertable<RequestsTable>, "id" | "status" | "created_at" | "expires_at"> &
    Partial<Insertable<RequestsTable>>,
): Insertable<RequestsTable> {
  return {
    requester: "alice",
    database_name: "shop",
    environment: "production",
    operation: "read",
    sql_text: "SELECT 1",
    sql_sha256: "x",
    reason: "r",
    review_json: "{}",
    workflow_json: "{}",
    limits_json: "{}",
    break_glass_reason: null,
    status_reason: null,
    updated_at: r.created_at,
    approved_at: null,
    dispatched_at: null,
    ...r,
  };
}
