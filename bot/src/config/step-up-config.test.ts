import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { DbwardError } from "@dbward/shared";
import { parseBotConfig } from "./bot-config.ts";

const OIDC = `
oidc:
  issuer: https://idp.example.com
  audience: https://dbward.example.com
  client_id: dbward-cli
`;

function configWith(stepUp: string, extra: string): string {
  return `
databases:
  - { name: shop, dialect: postgres, environments: [production] }
workflows:
  - name: prod-writes
    operations: [write]
    ${stepUp}
    steps:
      - approvers: ["role:approver"]
users:
  - { id: root, name: Root, roles: [admin] }
${extra}`;
}

function problemsOf(text: string): string[] {
  try {
    parseBotConfig(text, "test.yaml");
  } catch (err) {
    assert.ok(err instanceof DbwardError);
    assert.equal(err.code, "config.invalid");
    return err.details?.problems as string[];
  }
  assert.fail("the config was accepted");
}

describe("step_up config", () => {
  test("a workflow with step_up and oidc and step_up: sections is accepted, with defaults", () => {
    const c = parseBotConfig(
      configWith("step_up: oidc", `${OIDC}step_up:\n  public_url: https://dbward.example.com\n`),
    );
    assert.equal(c.workflows[0]?.step_up, "oidc");
    assert.equal(c.step_up?.max_age, 300_000);
    assert.equal(c.step_up?.link_ttl, 600_000);
  });

  test("step_up without an oidc: section is a config error at load", () => {
    const problems = problemsOf(
      configWith("step_up: oidc", "step_up:\n  public_url: https://dbward.example.com\n"),
    );
    assert.ok(
      problems.some((p) => p.startsWith("workflows.0.step_up:") && p.includes("no oidc: section")),
      problems.join("\n"),
    );
  });

  test("step_up without the step_up: section is a config error naming public_url", () => {
    const problems = problemsOf(configWith("step_up: oidc", OIDC));
    assert.ok(
      problems.some((p) => p.includes("public_url")),
      problems.join("\n"),
    );
  });

  test("an unknown method, an unknown key or a risk below medium is refused", () => {
    assert.ok(problemsOf(configWith("step_up: webauthn", OIDC)).length > 0);
    assert.ok(problemsOf(configWith("step_up: { method: oidc, risk_at_least: low }", OIDC)).length > 0);
    assert.ok(
      problemsOf(configWith("step_up: { method: oidc, risk_at_least: high, remember: 1h }", OIDC)).length > 0,
    );
  });

  test("max_age and link_ttl are bounded, and public_url must be https off loopback", () => {
    const problems = problemsOf(
      configWith(
        "step_up: oidc",
        `${OIDC}step_up:\n  public_url: http://dbward.example.com\n  max_age: 2h\n  link_ttl: 1h\n`,
      ),
    );
    for (const key of ["step_up.max_age", "step_up.link_ttl", "step_up.public_url"])
      assert.ok(
        problems.some((p) => p.startsWith(key)),
        `${key} in ${problems.join("\n")}`,
      );
  });
});
