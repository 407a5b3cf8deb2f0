import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { parseBotConfig } from "../config/bot-config.ts";
import { resolveExecutionLimits } from "./execution-policy.ts";

const config = parseBotConfig(`
databases: [{ name: shop, dialect: postgres, environments: [production, staging] }]
workflows: [{ name: all, auto_approve: always }]
execution: { statement_timeout_ms: 30000, row_cap: 1000, result_max_bytes: 1048576 }
execution_policies:
  - { database: "*", environment: production, statement_timeout_ms: 10000, result_max_bytes: 4096 }
  - { database: shop, environment: production, row_cap: 50, max_executions: { count: 5, window_minutes: 60 } }
`);

describe("execution policies", () => {
  test("falls back to the execution defaults where no policy applies", () => {
    assert.deepEqual(resolveExecutionLimits(config, "shop", "staging"), {
      statement_timeout_ms: 30000,
      row_cap: 1000,
      result_max_bytes: 1048576,
      max_executions: null,
    });
  });

  test("the most specific policy wins per field and less specific ones fill the rest", () => {
    assert.deepEqual(resolveExecutionLimits(config, "shop", "production"), {
      statement_timeout_ms: 10000,
      row_cap: 50,
      result_max_bytes: 4096,
      max_executions: { count: 5, window_minutes: 60 },
    });
  });
});
