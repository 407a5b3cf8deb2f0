/** Sample requests for the view tests: a stored request as the protocol shows it. */
import type { RequestView } from "@dbward/shared";
import type { RequestCard } from "../../../bot/src/slack/views/request-card.ts";

export function sampleRequest(over: Partial<RequestView> = {}): RequestView {
  return {
    id: 12,
    status: "pending_approval",
    requester: "alice",
    database: "shop",
    environment: "production",
    operation: "write",
    sql: "UPDATE orders SET status = 'paid' WHERE id < 10",
    sql_sha256: "ab".repeat(32),
    reason: "customer <paid> twice & wants a fix",
    review: { class: "write", risk: "medium", findings: [] },
    workflow: {
      name: "writes",
      auto_approve: "never",
      steps: [
        {
          name: "step 1",
          mode: "any",
          min: 1,
          approvers: ["role:approver"],
          escalated_to: [],
          approved_by: [],
          satisfied: false,
          waived_for_rows: null,
        },
      ],
      current_step: 0,
      row_guard: null,
      row_guard_from_dry_run: null,
      run: "on_approval",
    },
    break_glass_reason: null,
    limits: { statement_timeout_ms: 30_000, row_cap: 1000 },
    approvals: [],
    executions: [],
    created_at: "2026-01-01T00:00:00.000Z",
    updated_at: "2026-01-01T00:00:00.000Z",
    status_reason: null,
    rerun_of: null,
    run_schedule: { run_by: null, run_requested_at: null, not_before: null },
    preflights: [],
    touched_tables: [],
    schema_collected_at: null,
    ...over,
  };
}

export function sampleCard(
  over: Partial<RequestView> = {},
  approvers: string[] = ["bob", "carol"],
): RequestCard {
  return {
    request: sampleRequest(over),
    people: { alice: "<@U0ALICE01>", bob: "<@U0BOB0001>", carol: "<@U0CAROL01>" },
    approvers,
  };
}
