import assert from "node:assert/strict";
import { before, describe, test } from "node:test";
import { initSqlReview } from "@dbward/shared";
import { parseBotConfig } from "../config/bot-config.ts";
import { planRequest } from "./plan-request.ts";

const config = parseBotConfig(`
databases:
  - { name: shop, dialect: postgres, environments: [production, staging] }
workflows:
  - { name: reads, operations: [read], auto_approve: { risk_at_most: low }, steps: [{ approvers: ["role:approver"] }] }
  - { name: changes, operations: [write, ddl], steps: [{ approvers: ["role:approver"] }] }
sql_review:
  - { environment: staging, rules: { no_where_delete: warn } }
  - { database: shop, environment: staging, side_effect_functions: [audit_touch] }
`);

describe("request planning", () => {
  before(() => initSqlReview());

  test("a DELETE without WHERE is refused by the default rules in production", () => {
    const plan = planRequest(config, {
      database: "shop",
      environment: "production",
      sql: "DELETE FROM orders",
    });
    assert.equal(plan.ok ? null : plan.code, "sql.rejected");
    assert.match(plan.ok ? "" : plan.message, /DELETE without a WHERE clause/);
  });

  test("the same DELETE only warns where sql_review lowers the rule, and then needs approval", () => {
    const plan = planRequest(config, { database: "shop", environment: "staging", sql: "DELETE FROM orders" });
    assert.equal(plan.ok, true);
    assert.equal(plan.ok && plan.workflow.name, "changes");
    assert.equal(plan.ok && plan.autoApproved, false);
  });

  test("a function the config names as a side effect makes a SELECT a write", () => {
    const plan = planRequest(config, {
      database: "shop",
      environment: "staging",
      sql: "SELECT audit_touch(1)",
    });
    assert.equal(plan.ok && plan.operation, "write");
    assert.ok(plan.ok && plan.review.findings.some((f) => f.rule === "side_effect_function"));
    // Without that config the function is still unknown, so it is not a read either, and a
    // person must approve it even where reads are auto-approved.
    const prod = planRequest(config, {
      database: "shop",
      environment: "production",
      sql: "SELECT audit_touch(1)",
    });
    assert.equal(prod.ok && prod.operation, "write");
    assert.equal(prod.ok && prod.autoApproved, false);
    assert.deepEqual(prod.ok && prod.review.unverifiedCalls, ["audit_touch()"]);
  });

  test("a write that calls what the allowlist cannot prove is never auto-approved, whatever the workflow says", () => {
    const auto = parseBotConfig(`
databases:
  - { name: dev, dialect: postgres, environments: [local] }
workflows:
  - { name: anything-goes, auto_approve: always }
`);
    const plain = planRequest(auto, {
      database: "dev",
      environment: "local",
      sql: "UPDATE t SET n = 1 WHERE id = 2",
    });
    assert.equal(plain.ok && plain.autoApproved, true);
    const calling = planRequest(auto, {
      database: "dev",
      environment: "local",
      sql: "UPDATE t SET n = app.bump(n) WHERE id = 2",
    });
    assert.equal(calling.ok && calling.autoApproved, false);
    assert.deepEqual(calling.ok && calling.review.unverifiedCalls, ["app.bump()"]);
  });

  test("a low-risk read is auto-approved and carries its trace", () => {
    const plan = planRequest(config, {
      database: "shop",
      environment: "production",
      sql: "SELECT id FROM orders WHERE id = 1",
    });
    assert.equal(plan.ok && plan.autoApproved, true);
    assert.ok(plan.ok && plan.trace.some((t) => t.workflow === "reads" && t.matched));
  });

  test("unknown databases and environments are invalid requests, not policy refusals", () => {
    assert.equal(
      planRequest(config, { database: "nope", environment: "production", sql: "SELECT 1" }).ok ? null : "x",
      "x",
    );
    const plan = planRequest(config, { database: "shop", environment: "qa", sql: "SELECT 1" });
    assert.equal(plan.ok ? null : plan.code, "request.invalid");
    assert.match(plan.ok ? "" : plan.message, /has no environment qa/);
  });

  test("a text the parser cannot read is never a read, so it is not auto-approved", () => {
    const plan = planRequest(config, {
      database: "shop",
      environment: "production",
      sql: "SELEC id FROM orders",
    });
    assert.equal(plan.ok && plan.operation === "read", false);
    assert.equal(plan.ok && plan.autoApproved, false);
  });
});
