import assert from "node:assert/strict";
import { test } from "node:test";
import { redactPreflightReport } from "./preflight-redaction.ts";

const dup = {
  outcome: "failed" as const,
  error: {
    code: "execution.failed",
    message: 'duplicate key value violates unique constraint "u_email" (23505)',
  },
};

test("withholds a dry run's database message when masks are signed, keeping its SQLSTATE", () => {
  const redacted = redactPreflightReport(dup, true);
  assert.equal(redacted.error?.code, "execution.failed");
  assert.match(redacted.error?.message ?? "", /\(23505\); its message is withheld/);
  assert.ok(!redacted.error?.message.includes("u_email"));
});

test("keeps the message without masks, and keeps the agent's own refusals and successes", () => {
  assert.deepEqual(redactPreflightReport(dup, false), dup);
  const refusal = { outcome: "failed" as const, error: { code: "sql.unverified", message: "calls f()" } };
  assert.deepEqual(redactPreflightReport(refusal, true), refusal);
  const counted = { outcome: "succeeded" as const, affected_rows: 3 };
  assert.deepEqual(redactPreflightReport(counted, true), counted);
});
