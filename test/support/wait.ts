import assert from "node:assert/strict";
import type { RequestStatus, RequestView } from "@dbward/shared";
import type { BotHarness } from "./bot-harness.ts";

/** Polls a request until it reaches `status` (or a final status), within a bounded time. */
export async function waitForStatus(
  h: BotHarness,
  id: number,
  status: RequestStatus,
  timeoutMs = 15_000,
): Promise<RequestView> {
  const token = await h.tokenFor("olga");
  const deadline = Date.now() + timeoutMs;
  let last: RequestView | undefined;
  while (Date.now() < deadline) {
    last = (await h.call(token, "GET", `/api/requests/${id}`)).body as RequestView;
    if (last.status === status) return last;
    await new Promise((r) => setTimeout(r, 25));
  }
  assert.fail(`request #${id} did not reach ${status}; it is ${last?.status} (${last?.status_reason ?? ""})`);
}
