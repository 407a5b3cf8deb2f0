import assert from "node:assert/strict";
import { before, describe, test } from "node:test";
import { initSqlReview } from "@dbward/shared";
import { parseBotConfig } from "../config/bot-config.ts";
import { planRequest } from "./plan-request.ts";
import { resolveSqlReviewOptions } from "./sql-review-policy.ts";

const HIDDEN = "SELECT id FROM orders WHERE note = 'ok\u202e' AND id = 1";

const config = (sqlReview = "[]") =>
  parseBotConfig(`
databases:
  - { name: shop, dialect: postgres, environments: [production, prod, staging] }
  - { name: legacy, dialect: mysql, environments: [production] }
workflows:
  - { name: reads, operations: [read], steps: [{ approvers: ["role:approver"] }] }
sql_review: ${sqlReview}
`);

describe("SQL review options per environment", () => {
  before(() => initSqlReview());

  test("production and prod block invisible characters by default; other environments keep the default", () => {
    assert.deepEqual(resolveSqlReviewOptions([], "shop", "production").rules, {
      invisible_characters: "block",
    });
    assert.deepEqual(resolveSqlReviewOptions([], "shop", "prod").rules, { invisible_characters: "block" });
    assert.equal(resolveSqlReviewOptions([], "shop", "staging").rules, undefined);
  });

  test("an explicit sql_review entry wins over the production default, even a wildcard one", () => {
    const c = config(`[{ rules: { invisible_characters: warn, drop_table: warn } }]`);
    assert.deepEqual(resolveSqlReviewOptions(c.sql_review, "shop", "production").rules, {
      invisible_characters: "warn",
      drop_table: "warn",
    });
  });

  test("an entry that names other rules keeps the production default for this one", () => {
    const c = config(`[{ environment: production, rules: { drop_table: warn } }]`);
    assert.deepEqual(resolveSqlReviewOptions(c.sql_review, "shop", "production").rules, {
      invisible_characters: "block",
      drop_table: "warn",
    });
  });

  test("a request with a right-to-left override is refused in production, for every dialect", () => {
    for (const database of ["shop", "legacy"]) {
      const plan = planRequest(config(), { database, environment: "production", sql: HIDDEN });
      assert.equal(plan.ok ? null : plan.code, "sql.rejected", database);
      assert.match(plan.ok ? "" : plan.message, /do not show.*U\+202E/);
    }
  });

  test("the same request outside production is accepted with a warning for the approvers", () => {
    const plan = planRequest(config(), { database: "shop", environment: "staging", sql: HIDDEN });
    assert.equal(plan.ok, true);
    const finding = plan.ok ? plan.review.findings[0] : undefined;
    assert.deepEqual([finding?.rule, finding?.severity], ["invisible_characters", "warn"]);
    assert.equal(plan.ok && plan.review.risk, "high");
  });

  test("production accepts it where sql_review sets the rule to warn", () => {
    const c = config(`[{ database: shop, environment: production, rules: { invisible_characters: warn } }]`);
    assert.equal(planRequest(c, { database: "shop", environment: "production", sql: HIDDEN }).ok, true);
  });
});
