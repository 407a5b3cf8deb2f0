import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { parseBotConfig } from "../config/bot-config.ts";
import { autoApproves, matchWorkflow } from "./workflow.ts";

const config = parseBotConfig(`
databases:
  - { name: shop, dialect: postgres, environments: [production, staging] }
  - { name: crm, dialect: mysql, environments: [production] }
workflows:
  - { name: any-read, operations: [read], auto_approve: always }
  - { name: prod-any, environment: production, steps: [{ approvers: ["role:approver"] }] }
  - { name: shop-all, database: shop, steps: [{ approvers: ["role:approver"], min: 2 }] }
  - { name: shop-prod-ddl, database: shop, environment: production, operations: [ddl], steps: [{ approvers: ["group:dba"] }] }
`);

describe("workflow matching", () => {
  test("an environment match outranks a database match", () => {
    const m = matchWorkflow(config.workflows, {
      database: "shop",
      environment: "production",
      operation: "write",
    });
    assert.equal(m.ok && m.workflow.name, "prod-any");
  });

  test("database, environment and operation together win over everything", () => {
    const m = matchWorkflow(config.workflows, {
      database: "shop",
      environment: "production",
      operation: "ddl",
    });
    assert.equal(m.ok && m.workflow.name, "shop-prod-ddl");
  });

  test("a database match outranks an operation-only match", () => {
    const m = matchWorkflow(config.workflows, {
      database: "shop",
      environment: "staging",
      operation: "read",
    });
    assert.equal(m.ok && m.workflow.name, "shop-all");
  });

  test("refuses when nothing matches, naming the database and environment", () => {
    const narrow = parseBotConfig(`
databases: [{ name: shop, dialect: postgres, environments: [production] }]
workflows: [{ name: reads, operations: [read], auto_approve: always }]
`);
    const m = matchWorkflow(narrow.workflows, {
      database: "shop",
      environment: "production",
      operation: "write",
    });
    assert.equal(m.ok, false);
    assert.match(m.ok ? "" : m.reason, /no workflow covers write on shop in production/);
  });

  test("refuses equally specific matches as ambiguous", () => {
    const tied = parseBotConfig(`
databases: [{ name: shop, dialect: postgres, environments: [production] }]
workflows:
  - { name: a, database: shop, auto_approve: always }
  - { name: b, database: shop, auto_approve: always }
`);
    const m = matchWorkflow(tied.workflows, {
      database: "shop",
      environment: "production",
      operation: "read",
    });
    assert.equal(m.ok, false);
    assert.match(m.ok ? "" : m.reason, /a and b match shop\/production equally/);
  });

  test("the trace says why each workflow matched or not", () => {
    const m = matchWorkflow(config.workflows, {
      database: "crm",
      environment: "production",
      operation: "write",
    });
    const lines = Object.fromEntries(m.trace.map((t) => [t.workflow, t]));
    assert.equal(lines["any-read"]?.matched, false);
    assert.match(lines["shop-all"]?.why ?? "", /database is shop/);
    assert.equal(lines["prod-any"]?.matched, true);
  });
});

describe("auto-approve", () => {
  test("risk_based approves at or below the threshold only", () => {
    assert.equal(autoApproves({ risk_at_most: "medium" }, "low"), true);
    assert.equal(autoApproves({ risk_at_most: "medium" }, "medium"), true);
    assert.equal(autoApproves({ risk_at_most: "medium" }, "high"), false);
  });

  test("unknown, unavailable and critical risk never auto-approve", () => {
    for (const risk of ["unknown", "unavailable", "critical"] as const) {
      assert.equal(autoApproves({ risk_at_most: "high" }, risk), false, risk);
    }
  });

  test("never and always mean what they say", () => {
    assert.equal(autoApproves("never", "low"), false);
    assert.equal(autoApproves("always", "unavailable"), true);
  });

  test("a risk-based workflow without steps to fall back to is a config error", () => {
    assert.throws(
      () =>
        parseBotConfig(`
databases: [{ name: shop, dialect: postgres, environments: [production] }]
workflows: [{ name: r, auto_approve: { risk_at_most: low } }]
`),
      /workflows\.0\.steps: a workflow that does not always auto-approve needs at least one approval step/,
    );
  });
});
