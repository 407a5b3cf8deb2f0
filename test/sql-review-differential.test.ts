/**
 * The bot's review and the agent's review agree on every statement of the SQL corpus
 * (T-SQL-SMUGGLING): the class the bot plans a request with (`planRequest`, the path of request
 * creation) is a class the agent's own checks (`checkJob`, with a really signed token for that
 * class) accept, and a read token for anything the bot does not class as a read is refused by
 * the agent. A disagreement in either direction is a request that would be approved and then
 * refused, or a statement one side would run as a read and the other would not.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { before, describe, test } from "node:test";
import { initSqlReview, type OperationClass, type SqlDialect } from "@dbward/shared";
import { checkJob } from "../agent/src/job-runner.ts";
import { openLedger } from "../agent/src/ledger.ts";
import {
  fixedClock,
  generateSigningKey,
  signedClaim,
  tempDir,
  testConfig,
} from "./support/agent/unit-helpers.ts";
import { parseBotConfig } from "../bot/src/config/bot-config.ts";
import { planRequest } from "../bot/src/core/plan-request.ts";
import { SQL_CORPUS } from "./sql-corpus/corpus.ts";

const BOT_CONFIG = parseBotConfig(`
databases:
  - { name: pg, dialect: postgres, environments: [production] }
  - { name: my, dialect: mysql, environments: [production] }
  - { name: lite, dialect: sqlite, environments: [production] }
workflows:
  - name: everything
    steps: [{ approvers: ["role:approver"] }]
users:
  - { id: alice, name: Alice, roles: [requester] }
`);

const DATABASE: Readonly<Record<SqlDialect, string>> = { postgres: "pg", mysql: "my", sqlite: "lite" };
const DRIVER_URL: Readonly<Record<SqlDialect, string>> = {
  postgres: "postgres://postgres@127.0.0.1:5432/test",
  mysql: "mysql://root@127.0.0.1:3306/test",
  sqlite: "/nonexistent/never-opened.db",
};

describe("bot and agent review the SQL corpus alike", () => {
  before(() => initSqlReview());

  test("every planned class is accepted by the agent, and a read token is refused for every non-read", (t) => {
    const dir = tempDir(t);
    const key = generateSigningKey();
    const ops: OperationClass[] = ["read", "write", "ddl"];
    const config = testConfig(
      join(dir, "data"),
      [key],
      (["postgres", "mysql", "sqlite"] as const).map((dialect) => ({
        name: DATABASE[dialect],
        environment: "production",
        driver: dialect,
        url: DRIVER_URL[dialect],
        operations: ops,
      })),
    );
    const ledger = openLedger(config.dataDir);
    t.after(() => ledger.close());
    const deps = { config, ledger, clock: fixedClock() };
    const disagreements: string[] = [];
    let compared = 0;
    for (const c of SQL_CORPUS) {
      const plan = planRequest(BOT_CONFIG, {
        database: DATABASE[c.dialect],
        environment: "production",
        sql: c.sql,
      });
      if (!plan.ok) continue; // refused at the bot: never signed, never reaches an agent
      compared += 1;
      const claim = (operation: OperationClass) =>
        signedClaim(key, { sql: c.sql, database: DATABASE[c.dialect], environment: "production", operation });
      const accepted = checkJob(claim(plan.operation), deps);
      if (!accepted.ok)
        disagreements.push(`${c.dialect} ${plan.operation} refused (${accepted.code}): ${c.sql}`);
      // The SQLite driver (the demo) has no catalogue to check against.
      else if (
        c.dialect !== "sqlite" &&
        (plan.operation === "read") !== (accepted.statement.catalogCheck !== undefined)
      )
        disagreements.push(`${c.dialect} catalogue check ${plan.operation}: ${c.sql}`);
      if (plan.operation !== "read") {
        const asRead = checkJob(claim("read"), deps);
        if (asRead.ok) disagreements.push(`${c.dialect} a read token ran a ${plan.operation}: ${c.sql}`);
      }
    }
    assert.deepEqual(disagreements, []);
    assert.ok(compared > 200, `only ${compared} corpus statements reached the agent`);
  });
});
