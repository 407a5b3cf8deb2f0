import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { DbwardError } from "@dbward/shared";
import { parseBotConfig } from "./bot-config.ts";

const VALID = `
databases:
  - { name: shop, dialect: postgres, environments: [production] }
workflows:
  - name: reads-auto
    operations: [read]
    auto_approve: always
users:
  - { id: root, name: Root, roles: [admin] }
`;

function problemsOf(text: string): string[] {
  try {
    parseBotConfig(text, "test.yaml");
  } catch (err) {
    assert.ok(err instanceof DbwardError && err.code === "config.invalid", String(err));
    const problems = err.details?.problems;
    assert.ok(Array.isArray(problems));
    return problems.map(String);
  }
  return assert.fail("the config was accepted");
}

describe("bot config: unknown keys", () => {
  test("a mistyped top-level key names the key it is probably a typo of", () => {
    const problems = problemsOf(VALID.replace("workflows:", "workflow:"));
    assert.ok(
      problems.includes('(top level): unknown key "workflow"; did you mean `workflows`?'),
      problems.join("\n"),
    );
  });

  test("a mistyped key deep in a list item or a section is matched against that object's keys", () => {
    const problems = problemsOf(
      `${VALID.replace("auto_approve: always", "auto_approve: always\n    operation: [read]")}` +
        "execution: { row_cpa: 5 }\nresults: { retention_hour: 1 }\n",
    );
    for (const expected of [
      'workflows.0: unknown key "operation"; did you mean `operations`?',
      'execution: unknown key "row_cpa"; did you mean `row_cap`?',
      'results: unknown key "retention_hour"; did you mean `retention_hours`?',
    ])
      assert.ok(problems.includes(expected), `${expected} in:\n${problems.join("\n")}`);
  });

  test("a key close to no accepted key is reported without a guess, each unknown key on its own", () => {
    const problems = problemsOf(`${VALID}colour: red\nflavour: sweet\n`);
    assert.ok(problems.includes('(top level): unknown key "colour"'), problems.join("\n"));
    assert.ok(problems.includes('(top level): unknown key "flavour"'), problems.join("\n"));
  });
});
