/** The examples in docs/ are real configs: they must load with the same code the processes use. */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { describe, test } from "node:test";
import { loadAgentConfig } from "@dbward/agent";
import { parseBotConfig } from "@dbward/bot";

describe("documented example configs", () => {
  test("docs/examples/bot.yml loads", () => {
    const c = parseBotConfig(readFileSync("docs/examples/bot.yml", "utf8"));
    assert.equal(c.workflows.length, 3);
  });

  test("docs/examples/agent.yml loads once its environment variables are set", () => {
    const env = {
      DBWARD_AGENT_TOKEN: "dbwa_x",
      SHOP_PROD_URL: "postgres://a@b/c",
      SHOP_STAGING_URL: "postgres://a@b/d",
      BILLING_URL: "mysql://a@b/e",
    };
    const c = loadAgentConfig(readFileSync("docs/examples/agent.yml", "utf8"), env);
    assert.equal(c.databases.length, 3);
  });

  test("docs/examples/agent.yml without its environment names the missing variables", () => {
    assert.throws(
      () => loadAgentConfig(readFileSync("docs/examples/agent.yml", "utf8"), {}),
      /SHOP_PROD_URL/,
    );
  });
});

/** Relative directories the docs tell people to pass as `--data-dir` or `data_dir`. */
function documentedDataDirs(): string[] {
  const files = [
    "README.md",
    ...readdirSync("docs")
      .filter((f) => f.endsWith(".md"))
      .map((f) => `docs/${f}`),
  ];
  const dirs = files.flatMap((f) =>
    [...readFileSync(f, "utf8").matchAll(/(?:--data-dir[ =]|data_dir: |`)(\.{0,2}\/?[.\w-]+(?:\/[\w.-]+)*)/g)]
      .map((m) => m[1] as string)
      .filter((d) => !d.startsWith("/") && /^(\.\/|\.dbward-data|demo-state)/.test(d)),
  );
  return [...new Set(dirs)];
}

describe("state the docs suggest keeping in the working tree", () => {
  test("every relative data directory the docs name is git-ignored (it holds a signing key)", () => {
    const dirs = documentedDataDirs();
    assert.ok(dirs.includes("./demo-state"), `found ${dirs.join(", ")}`);
    for (const dir of dirs) {
      const r = spawnSync("git", ["check-ignore", "-q", "--no-index", `${dir}/signing-key.json`]);
      assert.equal(r.status, 0, `${dir} is not in .gitignore`);
    }
  });
});
