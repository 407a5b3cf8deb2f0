/**
 * What `request show` adds under a request whose result was cut short: the request view does not
 * carry it, the result's own metadata does (`GET …/result?limit=0`: `truncated`, `truncated_by`,
 * `row_count`, no rows). Asked only for a request whose latest successful execution returned
 * rows. A caller the result policy does not let read the result, or a result already deleted,
 * simply gets no note: `request show` is about the request.
 */
import type { RequestView, ResultView } from "@dbward/shared/protocol";
import type { ApiClient } from "./api-client.ts";
import { CliError } from "./cli-error.ts";
import { EXIT } from "./exit-codes.ts";
import { truncationCause } from "./format-request.ts";

/** The line to print under the request, or undefined when its result is whole (or not readable). */
export async function truncationNote(client: ApiClient, r: RequestView): Promise<string | undefined> {
  const last = r.executions.filter((e) => e.status === "succeeded").at(-1);
  if (last === undefined || last.row_count === null) return undefined;
  let head: ResultView;
  try {
    head = await client.get<ResultView>(`/api/requests/${r.id}/result?limit=0`);
  } catch (err) {
    // Refused by the result policy (exit 3) or gone (not found, expired: exit 4): nothing to add.
    if (err instanceof CliError && (err.exitCode === EXIT.auth || err.exitCode === EXIT.notFound))
      return undefined;
    throw err;
  }
  if (!head.truncated) return undefined;
  return `  result:    TRUNCATED by the ${truncationCause(head.truncated_by)}: ${head.row_count} row(s) kept of execution ${head.execution}; the rest were not stored`;
}
