import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { DbwardError } from "@dbward/shared";
import { parseBotConfig } from "./bot-config.ts";
import { parseDuration } from "./duration.ts";

const configWithStep = (step: string): string => `
databases:
  - name: shop
    dialect: postgres
    environments: [production]
workflows:
  - name: writes
    database: shop
    steps:
      - approvers: ["role:approver"]
${step
  .trim()
  .split("\n")
  .map((l) => `        ${l}`)
  .join("\n")}
users:
  - { id: root, name: Root, roles: [admin] }
agents:
  - id: agent-1
`;

function problemsOf(text: string): string[] {
  try {
    parseBotConfig(text);
  } catch (err) {
    assert.ok(err instanceof DbwardError);
    assert.equal(err.code, "config.invalid");
    return (err.details as { problems: string[] }).problems;
  }
  assert.fail("the config was accepted");
}

describe("config durations", () => {
  test("reads a whole number and one unit of s, m, h or d", () => {
    assert.equal(parseDuration("45s"), 45_000);
    assert.equal(parseDuration("30m"), 1_800_000);
    assert.equal(parseDuration("2h"), 7_200_000);
    assert.equal(parseDuration("1d"), 86_400_000);
  });

  test("refuses anything else instead of guessing", () => {
    for (const bad of ["30", "30 m", "1.5h", "2H", "0m", "-5m", "30min", "1h30m", "", "m", "05m"])
      assert.equal(parseDuration(bad), undefined, bad);
  });

  test("a step's remind_after and escalate_after become milliseconds", () => {
    const c = parseBotConfig(
      configWithStep(`remind_after: 30m\nescalate_after: 2h\nescalate_to: ["group:dba"]`),
    );
    const step = c.workflows[0]?.steps[0];
    assert.equal(step?.remind_after, 1_800_000);
    assert.equal(step?.escalate_after, 7_200_000);
    assert.deepEqual(step?.escalate_to, ["group:dba"]);
  });

  test("an unknown unit is a config error naming the key", () => {
    const problems = problemsOf(configWithStep("remind_after: 30min"));
    assert.ok(
      problems.some((p) => p.startsWith("workflows.0.steps.0.remind_after: must be a duration")),
      problems.join("\n"),
    );
  });

  test("a number without a unit is a config error naming the key", () => {
    const problems = problemsOf(configWithStep(`escalate_after: 7200\nescalate_to: ["group:dba"]`));
    assert.ok(
      problems.some((p) => p.startsWith("workflows.0.steps.0.escalate_after:")),
      problems.join("\n"),
    );
  });

  test("escalate_after without escalate_to (or the reverse) is a config error", () => {
    assert.ok(
      problemsOf(configWithStep("escalate_after: 2h")).some((p) => p.includes("steps.0.escalate_to")),
    );
    assert.ok(
      problemsOf(configWithStep(`escalate_to: ["group:dba"]`)).some((p) =>
        p.includes("steps.0.escalate_after"),
      ),
    );
  });

  test("escalate_to refuses an unknown role and a malformed selector", () => {
    assert.ok(
      problemsOf(configWithStep(`escalate_after: 2h\nescalate_to: ["role:nobody"]`)).some((p) =>
        p.startsWith("workflows.0.steps.0.escalate_to.0:"),
      ),
    );
    assert.ok(
      problemsOf(configWithStep(`escalate_after: 2h\nescalate_to: ["dba"]`)).some((p) =>
        p.startsWith("workflows.0.steps.0.escalate_to.0:"),
      ),
    );
  });
});
