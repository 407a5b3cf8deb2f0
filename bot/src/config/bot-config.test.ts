import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { DbwardError } from "@dbward/shared";
import { parseBotConfig } from "./bot-config.ts";

const VALID = `
databases:
  - name: shop
    dialect: postgres
    environments: [production, staging]
  - name: legacy
    dialect: mysql
    environments: [production]
workflows:
  - name: reads-auto
    operations: [read]
    auto_approve: always
  - name: shop-prod-writes
    database: shop
    environment: production
    operations: [write]
    steps:
      - approvers: ["role:approver"]
users:
  - { id: alice, name: Alice, roles: [requester], slack_user_id: U0123ABCD }
  - { id: root, name: Root, roles: [admin] }
agents:
  - id: agent-1
bootstrap_admin: root
`;

/** The problems a refused config names; fails the test if the config is accepted. */
function problemsOf(text: string): string[] {
  try {
    parseBotConfig(text, "test.yaml");
  } catch (err) {
    assert.ok(err instanceof DbwardError, `expected a DbwardError, got ${String(err)}`);
    assert.equal(err.code, "config.invalid");
    const problems = err.details?.problems;
    assert.ok(Array.isArray(problems), "the error lists its problems");
    for (const p of problems)
      assert.ok(err.message.includes(String(p)), `the message repeats "${String(p)}"`);
    return problems.map(String);
  }
  assert.fail("the config was accepted");
}

/** Asserts one problem starts with `path:` and mentions every `words`. */
function assertProblem(problems: readonly string[], path: string, ...words: string[]): void {
  const hit = problems.find((p) => p.startsWith(`${path}: `) && words.every((w) => p.includes(w)));
  assert.ok(
    hit !== undefined,
    `no problem at ${path} mentioning ${words.join(", ")} in:\n${problems.join("\n")}`,
  );
}

describe("bot config", () => {
  test("accepts a valid config and fills in the defaults", () => {
    const c = parseBotConfig(VALID);
    assert.deepEqual(
      c.databases.map((d) => d.name),
      ["shop", "legacy"],
    );
    assert.deepEqual(c.listen, { host: "127.0.0.1", port: 8080 });
    assert.equal(c.workflows[0]?.database, "*");
    assert.equal(c.workflows[0]?.environment, "*");
    assert.equal(c.workflows[1]?.allow_self_approval, false, "self-approval is denied by default");
    assert.deepEqual(c.users[1]?.groups, []);
    assert.equal(c.execution.dispatch_timeout_ms, 60_000);
    assert.equal(c.bootstrap_admin, "root");
  });

  test("freezes a valid config all the way down", () => {
    const c = parseBotConfig(VALID);
    for (const part of [c, c.listen, c.execution, c.databases, c.databases[0], c.workflows[1], c.users[0]]) {
      assert.ok(Object.isFrozen(part), "every level is frozen");
    }
    const roles = c.users[0]?.roles as string[];
    assert.throws(() => roles.push("admin"), TypeError);
    assert.throws(() => {
      (c.execution as { row_cap: number }).row_cap = 5;
    }, TypeError);
    assert.equal(c.execution.row_cap, 1000);
  });

  test("names the source in the message", () => {
    assert.throws(
      () => parseBotConfig("databases: 3", "/etc/dbward/bot.yaml"),
      (err: unknown) =>
        err instanceof DbwardError && err.message.startsWith("/etc/dbward/bot.yaml is invalid"),
    );
  });

  test("refuses text that is not YAML, saying so", () => {
    assert.throws(
      () => parseBotConfig("databases: [shop\nworkflows: {", "test.yaml"),
      (err: unknown) =>
        err instanceof DbwardError && err.code === "config.invalid" && err.message.includes("not valid YAML"),
    );
  });

  test("refuses a YAML mapping with the same key twice instead of keeping the last", () => {
    assert.throws(
      () => parseBotConfig(`${VALID}\nbootstrap_admin: alice\n`, "test.yaml"),
      (err: unknown) => err instanceof DbwardError && err.code === "config.invalid",
    );
  });

  test("refuses an empty file, naming the required keys", () => {
    const problems = problemsOf("");
    assertProblem(problems, "databases");
    assertProblem(problems, "workflows");
  });

  test("refuses a document that is not a mapping", () => {
    assertProblem(problemsOf("- databases\n- workflows\n"), "(top level)");
  });

  test("reports an unknown key by its path and name", () => {
    assertProblem(problemsOf(`${VALID}\ncolour: red\n`), "(top level)", "colour");
    const nested = VALID.replace("dialect: mysql", "dialect: mysql\n    pasword: hunter2");
    assertProblem(problemsOf(nested), "databases.1", "pasword");
    assertProblem(
      problemsOf(VALID.replace("- id: agent-1", "- { id: agent-1, token: x }")),
      "agents.0",
      "token",
    );
  });

  test("reports a value of the wrong type by its path", () => {
    assertProblem(problemsOf(`${VALID}\nlisten: { port: eighty }\n`), "listen.port");
    assertProblem(problemsOf(`${VALID}\nexecution: { row_cap: lots }\n`), "execution.row_cap");
    assertProblem(
      problemsOf(VALID.replace("environments: [production]", "environments: production")),
      "databases.1.environments",
    );
    assertProblem(
      problemsOf(VALID.replace("operations: [write]", "operations: write")),
      "workflows.1.operations",
    );
  });

  test("reports a bad name by its path, saying what a name looks like", () => {
    const problems = problemsOf(VALID.replace("name: shop\n", "name: Shop DB\n"));
    assertProblem(problems, "databases.0.name", "lower-case");
  });

  test("reports an unknown dialect, role and operation by their paths", () => {
    assertProblem(problemsOf(VALID.replace("dialect: postgres", "dialect: oracle")), "databases.0.dialect");
    assertProblem(problemsOf(VALID.replace("roles: [admin]", "roles: [superuser]")), "users.1.roles.0");
    assertProblem(
      problemsOf(VALID.replace("operations: [write]", "operations: [delete]")),
      "workflows.1.operations.0",
    );
  });

  test("reports a Slack user id of the wrong format", () => {
    assertProblem(problemsOf(VALID.replace("U0123ABCD", "alice")), "users.0.slack_user_id", "Slack user id");
    assertProblem(problemsOf(VALID.replace("U0123ABCD", "u0123abcd")), "users.0.slack_user_id");
  });

  test("dry runs: on for a PostgreSQL or MySQL/MariaDB database or some of its environments; refused on SQLite, naming why", () => {
    const withShop = (v: string) =>
      VALID.replace(
        "environments: [production, staging]\n",
        `environments: [production, staging]\n    dry_run: ${v}\n`,
      );
    assert.deepEqual(parseBotConfig(withShop("[production]"), "t.yaml").databases[0]?.dry_run, [
      "production",
    ]);
    assert.equal(parseBotConfig(withShop("true"), "t.yaml").databases[0]?.dry_run, true);
    assertProblem(
      problemsOf(withShop("[prod]")),
      "databases.0.dry_run",
      "not one of this database's environments",
    );
    assertProblem(problemsOf(withShop("[]")), "databases.0.dry_run");
    assertProblem(problemsOf(withShop("yes please")), "databases.0.dry_run");
    // The agent dry-runs MySQL/MariaDB writes too (InnoDB tables without triggers, proven calls).
    const onMysql = VALID.replace(
      "dialect: mysql\n    environments: [production]\n",
      "dialect: mysql\n    environments: [production]\n    dry_run: true\n",
    );
    assert.equal(parseBotConfig(onMysql, "t.yaml").databases[1]?.dry_run, true);
    const onSqlite = VALID.replace(
      "dialect: mysql\n    environments: [production]\n",
      "dialect: sqlite\n    environments: [production]\n    dry_run: [production]\n",
    );
    assertProblem(problemsOf(onSqlite), "databases.1.dry_run", "agent has no SQLite dry run");
  });

  test("guard: dry_run_count with a whole-percent tolerance, and auto-approval by rows, for writes only", () => {
    const writes = (extra: string) =>
      VALID.replace("    operations: [write]\n    steps:", `    operations: [write]\n${extra}    steps:`);
    const ok = parseBotConfig(writes('    guard: dry_run_count\n    guard_tolerance: "10%"\n'), "t.yaml");
    assert.equal(ok.workflows[1]?.guard, "dry_run_count");
    assert.equal(ok.workflows[1]?.guard_tolerance, "10%");
    assertProblem(problemsOf(writes("    guard: exact\n")), "workflows.1.guard");
    for (const bad of ['"10"', '"1.5%"', '"-5%"', '"010%"', "10"])
      assertProblem(
        problemsOf(writes(`    guard: dry_run_count\n    guard_tolerance: ${bad}\n`)),
        "workflows.1.guard_tolerance",
      );
    assertProblem(
      problemsOf(writes('    guard_tolerance: "5%"\n')),
      "workflows.1.guard_tolerance",
      "set guard",
    );
    const onReads = VALID.replace(
      "    auto_approve: always\n",
      "    auto_approve: always\n    guard: dry_run_count\n",
    );
    assertProblem(problemsOf(onReads), "workflows.0.guard", "no write");
    assertProblem(
      problemsOf(writes("    guard: dry_run_count\n    auto_approve: { risk_at_most: medium }\n")),
      "workflows.1.auto_approve",
      "before any count",
    );
    const byRows = parseBotConfig(writes("    auto_approve: { max_rows: 10 }\n"), "t.yaml");
    assert.deepEqual(byRows.workflows[1]?.auto_approve, { max_rows: 10 });
    assertProblem(
      problemsOf(writes("    auto_approve: { max_rows: -1 }\n")),
      "workflows.1.auto_approve.max_rows",
    );
  });

  test("refuses execution limits outside their range", () => {
    const text = `${VALID}\nexecution: { dispatch_timeout_ms: 999, lease_margin_ms: 10, row_cap: 0 }\n`;
    const problems = problemsOf(text);
    assertProblem(problems, "execution.dispatch_timeout_ms");
    assertProblem(problems, "execution.lease_margin_ms");
    assertProblem(problems, "execution.row_cap");
  });

  test("reports a workflow naming an unknown database", () => {
    assertProblem(
      problemsOf(VALID.replace("database: shop", "database: shopp")),
      "workflows.1.database",
      "shopp",
    );
  });

  test("reports a workflow naming an environment its database does not have", () => {
    const problems = problemsOf(VALID.replace("environment: production", "environment: qa"));
    assertProblem(problems, "workflows.1.environment", "shop", "qa");
  });

  test("reports duplicate database, workflow, user and agent names", () => {
    const text = `
databases:
  - { name: shop, dialect: postgres, environments: [production] }
  - { name: shop, dialect: mysql, environments: [production] }
workflows:
  - { name: w, operations: [read], auto_approve: always }
  - { name: w, operations: [write], auto_approve: always }
users:
  - { id: alice, name: Alice, roles: [requester], slack_user_id: U1AAAA }
  - { id: alice, name: Alice Two, roles: [approver] }
  - { id: bob, name: Bob, roles: [approver], slack_user_id: U1AAAA }
agents:
  - id: agent-1
  - id: agent-1
`;
    const problems = problemsOf(text);
    assertProblem(problems, "databases", "duplicate", "shop");
    assertProblem(problems, "workflows", "duplicate", "w");
    assertProblem(problems, "users", "duplicate", "alice");
    assertProblem(problems, "users", "U1AAAA");
    assertProblem(problems, "agents", "duplicate", "agent-1");
  });

  test("reports a bootstrap_admin who is not a configured user", () => {
    assertProblem(
      problemsOf(VALID.replace("bootstrap_admin: root", "bootstrap_admin: rooot")),
      "bootstrap_admin",
      "rooot",
    );
  });

  test("reports a bootstrap_admin who lacks the admin role", () => {
    assertProblem(
      problemsOf(VALID.replace("bootstrap_admin: root", "bootstrap_admin: alice")),
      "bootstrap_admin",
      "alice",
      "admin",
    );
  });

  test("reports every problem of one kind at once", () => {
    const text = VALID.replace("name: shop\n", "name: Shop\n")
      .replace("dialect: mysql", "dialect: oracle")
      .replace("environments: [production]", "environments: 7")
      .replace("U0123ABCD", "alice")
      .concat("\ncolour: red\n");
    const problems = problemsOf(text);
    assertProblem(problems, "databases.0.name");
    assertProblem(problems, "databases.1.dialect");
    assertProblem(problems, "databases.1.environments");
    assertProblem(problems, "users.0.slack_user_id");
    assertProblem(problems, "(top level)", "colour");
  });

  test("reports cross-reference problems in the same pass as type problems", () => {
    // An operator who fixes the type error should not discover the unknown database on the next start.
    const text = VALID.replace("dialect: mysql", "dialect: oracle").replace(
      "database: shop",
      "database: shopp",
    );
    const problems = problemsOf(text);
    assertProblem(problems, "databases.1.dialect");
    assertProblem(problems, "workflows.1.database", "shopp");
  });

  test("accepts a row_cap up to the agent's own limit of 100,000,000, as results stream", () => {
    const policy = "execution_policies:\n  - { database: shop, row_cap: 100000000 }\n";
    const c = parseBotConfig(`${VALID}\nexecution: { row_cap: 50000000 }\n${policy}`);
    assert.equal(c.execution.row_cap, 50_000_000);
    assert.equal(c.execution_policies[0]?.row_cap, 100_000_000);
  });

  test("refuses a row_cap above the agent's limit, naming the key", () => {
    const policy = "execution_policies:\n  - { database: shop, row_cap: 100000001 }\n";
    const problems = problemsOf(`${VALID}\nexecution: { row_cap: 100000001 }\n${policy}`);
    assertProblem(problems, "execution.row_cap");
    assertProblem(problems, "execution_policies.0.row_cap");
  });
});

describe("bot config: run modes", () => {
  const withRun = (lines: string): string =>
    VALID.replace("    operations: [write]\n", `    operations: [write]\n${lines}`);

  test("runs on approval unless a workflow says by_requester, which waits 24h by default", () => {
    const c = parseBotConfig(withRun("    run: by_requester\n"));
    assert.equal(c.workflows[0]?.run, "on_approval");
    assert.equal(c.workflows[1]?.run, "by_requester");
    assert.equal(c.workflows[1]?.run_within, undefined, "the default is applied to the snapshot");
    const within = parseBotConfig(withRun("    run: by_requester\n    run_within: 2h\n"));
    assert.equal(within.workflows[1]?.run_within, 7_200_000);
  });

  test("refuses an unknown run mode, run_within without by_requester, and more than 7 days", () => {
    assertProblem(problemsOf(withRun("    run: later\n")), "workflows.1.run", "on_approval", "by_requester");
    assertProblem(problemsOf(withRun("    run_within: 2h\n")), "workflows.1.run_within", "by_requester");
    assertProblem(
      problemsOf(withRun("    run: by_requester\n    run_within: 8d\n")),
      "workflows.1.run_within",
      "7d",
    );
    assertProblem(
      problemsOf(withRun("    run: by_requester\n    run_within: soon\n")),
      "workflows.1.run_within",
      "duration",
    );
  });
});
