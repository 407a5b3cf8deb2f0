/**
 * `/metrics` is valid for Prometheus's own linter: the real bot's scrape, after traffic that gives
 * the labelled counters and the histogram samples (a request approved and run, a refused login, a
 * rate-limited create), is piped to `promtool check metrics`, which must exit 0 and print nothing.
 * It names any counter without `_total`, a gauge or histogram named `…_total`, a missing HELP, a
 * non-base unit (`_milliseconds`, `_kilobytes`) or a malformed family.
 *
 * promtool comes from Debian's `prometheus` package. .ci/run installs it and sets
 * DBWARD_REQUIRE_PROMTOOL=1, so CI fails here instead of skipping.
 */
import assert from "node:assert/strict";
import { execFileSync, spawn } from "node:child_process";
import { after, before, describe, test } from "node:test";
import type { ClaimResponse, PollResponse, RequestView } from "@dbward/shared";
import { TEST_CONFIG, startBotHarness, type BotHarness } from "./support/bot-harness.ts";

const METRICS_TOKEN = "p".repeat(20) + "0123456789abcdef";
const CAPABILITIES = [{ database: "shop", environment: "staging", operations: ["read", "write"] }];
// One create a minute, so the second create is refused and the rate-limit counter has a sample.
const CONFIG = `${TEST_CONFIG}
http:
  rate_limits:
    request_create: { burst: 1, per_minute: 1 }
`;

function hasPromtool(): boolean {
  try {
    execFileSync("promtool", ["--version"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

const required = process.env.DBWARD_REQUIRE_PROMTOOL === "1";
const skip = !hasPromtool() && !required ? "promtool is not installed (apt-get install prometheus)" : false;

/** Feeds `text` to `promtool check metrics`; its exit code and everything it printed. */
function promtoolCheck(text: string): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn("promtool", ["check", "metrics"], { stdio: ["pipe", "pipe", "pipe"] });
    let output = "";
    child.stdout.on("data", (d: Buffer) => (output += d.toString()));
    child.stderr.on("data", (d: Buffer) => (output += d.toString()));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, output }));
    child.stdin.end(text);
  });
}

describe("GET /metrics under promtool check metrics", { skip }, () => {
  let h: BotHarness;
  before(async () => {
    h = await startBotHarness(CONFIG, { env: { DBWARD_METRICS_TOKEN: METRICS_TOKEN } });
  });
  after(async () => h.stop());

  /** A write requested, approved, claimed and reported done by the agent over HTTP. */
  async function runOneRequest(): Promise<void> {
    const agent = h.agentTokens["agent-1"] ?? "";
    const alice = await h.tokenFor("alice");
    const created = await h.call(alice, "POST", "/api/requests", {
      database: "shop",
      environment: "staging",
      sql: "UPDATE accounts SET flag = 1 WHERE id = 7",
      reason: "promtool",
    });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const id = (created.body as RequestView).id;
    const limited = await h.call(alice, "POST", "/api/requests", {
      database: "shop",
      environment: "staging",
      sql: "UPDATE accounts SET flag = 2 WHERE id = 7",
      reason: "promtool",
    });
    assert.equal(limited.status, 429, JSON.stringify(limited.body));
    const approved = await h.call(await h.tokenFor("bob"), "POST", `/api/requests/${id}/approve`, {});
    assert.equal(approved.status, 200, JSON.stringify(approved.body));
    const poll = await h.call(agent, "POST", "/api/agent/poll", { capabilities: CAPABILITIES, wait_ms: 0 });
    const job = (poll.body as PollResponse).jobs[0];
    assert.ok(job !== undefined, "the approved request reached the agent");
    const claim = await h.call(agent, "POST", `/api/agent/jobs/${job.job_id}/claim`, {});
    assert.equal((claim.body as ClaimResponse).request_id, id);
    const result = await h.call(agent, "POST", `/api/agent/jobs/${job.job_id}/result`, {
      outcome: "succeeded",
      duration_ms: 40,
      affected_rows: 1,
    });
    assert.equal(result.status, 200, JSON.stringify(result.body));
    assert.equal((await fetch(`${h.url}/metrics`)).status, 401);
  }

  test("the scrape after real traffic passes with no complaint", async () => {
    await runOneRequest();
    const res = await fetch(`${h.url}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } });
    assert.equal(res.status, 200);
    const text = await res.text();
    // The families the linter must see with samples, not only their HELP lines.
    for (const line of [
      /^dbward_execution_duration_seconds_bucket\{le="0\.05",outcome="succeeded"\} 1$/m,
      /^dbward_http_requests_total\{method="POST",route="\/api\/requests",status="201"\} 1$/m,
      /^dbward_rate_limited_total\{limit="request_create"\} 1$/m,
      /^dbward_auth_failures_total\{code="auth\.missing"\} [1-9]/m,
      /^dbward_approval_decisions_total\{decision="approved"\} 1$/m,
    ])
      assert.match(text, line);
    const { code, output } = await promtoolCheck(text);
    assert.equal(output, "", `promtool check metrics complained:\n${output}`);
    assert.equal(code, 0);
  });

  test("promtool does complain about a gauge named like a counter, so the check above has teeth", async () => {
    const { code, output } = await promtoolCheck(
      "# HELP dbward_example_total An example.\n# TYPE dbward_example_total gauge\ndbward_example_total 1\n",
    );
    assert.notEqual(code, 0);
    assert.match(output, /non-counter metrics should not have "_total" suffix/);
  });
});
