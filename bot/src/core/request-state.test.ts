import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { FINAL_STATUSES, REQUEST_STATUSES, isFinalStatus, type RequestStatus } from "@dbward/shared";
import { REQUEST_EVENTS, TRANSITIONS, transition, type RequestEvent } from "./request-state.ts";

/**
 * The allowed moves, written out independently of the table under test (ARCHITECTURE.md: the
 * request). Anything not listed here must be refused.
 */
const ALLOWED: readonly (readonly [RequestStatus, RequestEvent, RequestStatus])[] = [
  ["pending_approval", "approve_final", "approved"],
  ["pending_approval", "auto_approve", "approved"],
  ["pending_approval", "break_glass", "approved"],
  ["pending_approval", "reject", "rejected"],
  ["pending_approval", "cancel", "cancelled"],
  ["pending_approval", "expire", "expired"],
  ["approved", "dispatch", "dispatched"],
  ["approved", "cancel", "cancelled"],
  ["approved", "expire", "expired"],
  ["dispatched", "claim", "running"],
  ["dispatched", "exhaust_budget", "failed"],
  ["dispatched", "refuse_unbounded", "failed"],
  ["dispatched", "dispatch_timeout", "approved"],
  ["dispatched", "cancel", "cancelled"],
  ["dispatched", "expire", "expired"],
  ["running", "succeed", "succeeded"],
  ["running", "fail", "failed"],
  ["running", "time_out", "timed_out"],
  ["running", "lose", "lost"],
  ["running", "cancel", "cancelled"],
  ["lost", "retry", "approved"],
];

function expectedTarget(from: RequestStatus, event: RequestEvent): RequestStatus | undefined {
  return ALLOWED.find(([f, e]) => f === from && e === event)?.[2];
}

describe("request state machine", () => {
  for (const from of REQUEST_STATUSES) {
    for (const event of REQUEST_EVENTS) {
      const to = expectedTarget(from, event);
      if (to !== undefined) {
        test(`moves a ${from} request to ${to} on ${event}`, () => {
          assert.deepEqual(transition(from, event), { ok: true, from, to });
        });
      } else {
        test(`refuses ${event} on a ${from} request`, () => {
          assert.deepEqual(transition(from, event), { ok: false, from, event });
        });
      }
    }
  }

  test("has a row for every status and no other", () => {
    assert.deepEqual(Object.keys(TRANSITIONS).sort(), [...REQUEST_STATUSES].sort());
  });

  test("lets nothing out of a final status but an operator's retry of a lost request", () => {
    for (const status of FINAL_STATUSES) {
      const ways = REQUEST_EVENTS.filter((event) => transition(status, event).ok);
      assert.deepEqual(ways, status === "lost" ? ["retry"] : [], `the ways out of ${status}`);
    }
  });

  test("retries only a lost request, and only back to approved", () => {
    for (const from of REQUEST_STATUSES) {
      const t = transition(from, "retry");
      assert.deepEqual(t.ok ? [from, t.to] : null, from === "lost" ? ["lost", "approved"] : null);
    }
  });

  test("gives every status that is not final a way out", () => {
    for (const status of REQUEST_STATUSES.filter((s) => !isFinalStatus(s))) {
      assert.ok(
        REQUEST_EVENTS.some((e) => transition(status, e).ok),
        `${status} is not final but nothing leaves it`,
      );
    }
  });

  test("reaches every status from pending_approval, and a final status from every status", () => {
    const reachable = new Set<RequestStatus>(["pending_approval"]);
    for (let grew = true; grew;) {
      grew = false;
      for (const from of [...reachable]) {
        for (const event of REQUEST_EVENTS) {
          const t = transition(from, event);
          if (t.ok && !reachable.has(t.to)) {
            reachable.add(t.to);
            grew = true;
          }
        }
      }
    }
    assert.deepEqual([...reachable].sort(), [...REQUEST_STATUSES].sort());
    for (const status of REQUEST_STATUSES) {
      const seen = new Set<RequestStatus>([status]);
      const queue: RequestStatus[] = [status];
      for (let s = queue.shift(); s !== undefined; s = queue.shift()) {
        for (const event of REQUEST_EVENTS) {
          const t = transition(s, event);
          if (t.ok && !seen.has(t.to)) {
            seen.add(t.to);
            queue.push(t.to);
          }
        }
      }
      assert.ok([...seen].some(isFinalStatus), `${status} can reach a final status`);
    }
  });

  test("never approves a request that was refused, cancelled or expired", () => {
    for (const status of ["rejected", "cancelled", "expired"] as const) {
      for (const event of [
        "approve_final",
        "auto_approve",
        "break_glass",
        "dispatch",
        "claim",
        "retry",
      ] as const) {
        assert.equal(transition(status, event).ok, false, `${event} on ${status}`);
      }
    }
  });

  test("runs a request only by a claim of a dispatched request", () => {
    for (const from of REQUEST_STATUSES) {
      for (const event of REQUEST_EVENTS) {
        const t = transition(from, event);
        if (t.ok && t.to === "running") assert.deepEqual([from, event], ["dispatched", "claim"]);
      }
    }
  });
});
