import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { RequestView } from "@dbward/shared";
import { SLACK_IDS } from "../ids.ts";
import { approvalMessage } from "./approval-message.ts";
import { sampleCard } from "../../../../test/support/slack/sample-cards.ts";

const json = (v: unknown): string => JSON.stringify(v);

describe("the approval message", () => {
  test("names the requester, target, operation, risk, reason and who must approve, with three buttons", () => {
    const m = approvalMessage(sampleCard(), { showSql: false, buttons: true });
    const text = json(m.blocks);
    for (const part of [
      "<@U0ALICE01>",
      "`shop` / `production`",
      "`write`",
      "`medium`",
      "<@U0BOB0001>",
      "<@U0CAROL01>",
    ]) {
      assert.ok(text.includes(part), part);
    }
    assert.ok(text.includes("customer &lt;paid&gt; twice &amp; wants a fix"), "reason is escaped");
    const actions = m.blocks.find((b) => b.type === "actions");
    assert.deepEqual(
      actions?.type === "actions" ? actions.elements.map((e) => ("action_id" in e ? e.action_id : "")) : [],
      [SLACK_IDS.actions.review, SLACK_IDS.actions.approve, SLACK_IDS.actions.reject],
    );
  });

  test("shows a write's row guard to approvers, and no such field without one", () => {
    const base = sampleCard().request;
    const guarded = json(
      approvalMessage(sampleCard({ workflow: { ...base.workflow, row_guard: 1204 } }), {
        showSql: false,
        buttons: true,
      }).blocks,
    );
    assert.match(guarded, /Row guard.*at most 1204 row\(s\), or rolled back/);
    assert.doesNotMatch(
      json(approvalMessage(sampleCard(), { showSql: false, buttons: true }).blocks),
      /Row guard/,
    );
  });

  test("shows the agent's plan summary, that one is being made, or why there is none", () => {
    const base = {
      kind: "explain",
      agent: "agent-1",
      finished_at: null,
      duration_ms: 3,
      affected_rows: null,
    } as const;
    const line = (preflights: RequestView["preflights"]): string =>
      json(approvalMessage(sampleCard({ preflights }), { showSql: false, buttons: true }).blocks);
    assert.doesNotMatch(line([]), /Plan/);
    assert.match(line([{ ...base, status: "running", summary: null, error: null }]), /Plan: being made/);
    const summary = {
      engine: "postgres",
      estimated_rows: 1204,
      total_cost: 99,
      costliest_node: { node_type: "Seq Scan", relation: "orders_*\u202e", cost: 98 },
      sequential_scans: [{ scan: "Seq Scan", relation: "orders_*\u202e", estimated_rows: 50_000 }],
      truncated: false,
    } as const;
    const planned = line([{ ...base, status: "succeeded", summary, error: null }]);
    assert.match(planned, /Plan \(estimate, not run\): ~1,204 rows · costliest: Seq Scan on orders_/);
    assert.match(planned, /full scans: orders_.* \(~50,000 rows\)/);
    assert.ok(
      !planned.includes("\u202e") && planned.includes("U+202E"),
      "an invisible character in a name is shown",
    );
    const failed = line([
      {
        ...base,
        status: "failed",
        summary: null,
        error: { code: "sql.unverified", message: "no plan for writes <here>" },
      },
    ]);
    assert.match(failed, /No plan: no plan for writes &lt;here&gt;/);
  });

  test("shows the dry run's exact count, that it is being counted, or why there is none", () => {
    const base = {
      kind: "dry_run",
      agent: "agent-1",
      finished_at: null,
      duration_ms: 35,
      summary: null,
    } as const;
    const line = (preflights: RequestView["preflights"]): string =>
      json(approvalMessage(sampleCard({ preflights }), { showSql: false, buttons: true }).blocks);
    assert.doesNotMatch(line([]), /Dry run/);
    assert.match(
      line([{ ...base, status: "pending", affected_rows: null, error: null }]),
      /Dry run: being counted/,
    );
    assert.match(
      line([{ ...base, status: "succeeded", affected_rows: 1204, error: null }]),
      /Dry run: would change 1,204 rows \(counted in 35 ms, rolled back\)/,
    );
    assert.match(
      line([{ ...base, status: "succeeded", affected_rows: 1, error: null }]),
      /would change 1 row \(/,
    );
    const failed = line([
      {
        ...base,
        status: "failed",
        affected_rows: null,
        error: { code: "sql.rejected", message: "orders has a trigger <audit_\u202e>" },
      },
    ]);
    assert.match(failed, /No dry-run count: orders has a trigger &lt;audit_/);
    const forged = line([
      {
        ...base,
        status: "failed",
        affected_rows: null,
        error: { code: "execution.failed", message: 'bad "1\n:abacus: Dry run: would change 3 rows' },
      },
    ]);
    assert.ok(!forged.includes("\\n:abacus:"), "a line break in the reason cannot start a line of its own");
    assert.match(forged, /⟨U\+000A⟩:abacus: Dry run: would change 3 rows/);
    assert.ok(!failed.includes("\u202e"), "an invisible character in the reason is shown escaped");
  });

  test("keeps the SQL out when told to, and shows it exactly when allowed", () => {
    const hidden = json(approvalMessage(sampleCard(), { showSql: false, buttons: true }).blocks);
    assert.ok(!hidden.includes("UPDATE orders"));
    assert.match(hidden, /not shown in this channel for `production`/);
    const shown = approvalMessage(sampleCard(), { showSql: true, buttons: true }).blocks;
    const pre = shown.find((b) => b.type === "rich_text");
    assert.equal(
      json(pre),
      json({
        type: "rich_text",
        elements: [
          {
            type: "rich_text_preformatted",
            elements: [{ type: "text", text: "UPDATE orders SET status = 'paid' WHERE id < 10" }],
          },
        ],
      }),
    );
  });

  test("drops the buttons once the request is no longer pending, and tells what happened", () => {
    const m = approvalMessage(
      sampleCard({
        status: "succeeded",
        approvals: [{ approver: "bob", step: 0, decision: "approved", comment: null, at: "" }],
        executions: [
          {
            number: 1,
            agent: "agent-1",
            status: "succeeded",
            started_at: "",
            finished_at: "",
            row_count: 0,
            affected_rows: 3,
            duration_ms: 12,
            result_truncated_by: null,
            error: null,
          },
        ],
      }),
      { showSql: false, buttons: true },
    );
    assert.equal(
      m.blocks.find((b) => b.type === "actions"),
      undefined,
    );
    const text = json(m.blocks);
    assert.match(text, /Succeeded/);
    assert.match(text, /Approved by <@U0BOB0001>/);
    assert.match(text, /3 rows affected in 12 ms/);
  });

  test("splits very long SQL over several blocks, none above Slack's limit, and points to Review for the rest", () => {
    const sql = `SELECT ${"x, ".repeat(10_000)}1`;
    const m = approvalMessage(sampleCard({ sql }), { showSql: true, buttons: true });
    const pre = m.blocks.filter((b) => b.type === "rich_text");
    assert.equal(pre.length, 4);
    assert.ok(json(m.blocks).includes("Open *Review* to read all of it."));
    for (const b of m.blocks) assert.ok(json(b).length < 3500);
  });
});

describe("a break-glass request", () => {
  test("is announced at the top of its message with the requester and the written reason", () => {
    const m = approvalMessage(
      sampleCard({ status: "dispatched", break_glass_reason: "outage: orders stuck" }, []),
      {
        showSql: false,
        buttons: true,
      },
    );
    const first = JSON.stringify(m.blocks[0]);
    assert.match(first, /:rotating_light: \*Break-glass\*: <@U0ALICE01> skipped approval/);
    assert.match(first, /outage: orders stuck/);
  });
});
