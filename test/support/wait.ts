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

/**
 * Polls `probe` until it returns something other than undefined, within a bounded time. A probe
 * that throws counts as "not yet" (a process may be starting, or the one asked was killed); the
 * failure names what was awaited and the probe's last error.
 */
export async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  timeoutMs = 30_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() > deadline)
      assert.fail(`timed out waiting for ${what}${lastError === undefined ? "" : `: ${String(lastError)}`}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
