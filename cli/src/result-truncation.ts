/**
 * What `request show` adds under a request whose result was cut short, from the request view
 * itself (each execution carries `result_truncated_by`): no second call, and so no `result.read`
 * in the audit trail for merely looking at a request.
 */
import type { RequestView } from "@dbward/shared/protocol";
import { truncationCause } from "./format-request.ts";

/** The line to print under the request, or undefined when its latest result is whole. */
export function truncationNote(r: RequestView): string | undefined {
  const last = r.executions.filter((e) => e.status === "succeeded").at(-1);
  if (last === undefined || last.result_truncated_by === null) return undefined;
  return `  result:    TRUNCATED by the ${truncationCause(last.result_truncated_by)}: ${last.row_count ?? 0} row(s) kept of execution ${last.number}; the rest were not stored`;
}
