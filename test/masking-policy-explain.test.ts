/**
 * `dbward policy explain --schema` on a config with masking policies, through the real CLI: a
 * read that filters on a masked column is shown as needing approval with the reason naming the
 * column, a plain read of it stays auto-approved, and a policy naming a column the schema
 * context lacks is reported.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { main } from "../cli/src/main.ts";
import { captureOutput } from "./support/capture-output.ts";
import { TEST_CONFIG } from "./support/bot-harness.ts";

const dir = mkdtempSync(join(tmpdir(), "dbward-masking-explain-"));
after(() => rmSync(dir, { recursive: true, force: true }));

const config = join(dir, "bot.yml");
writeFileSync(
  config,
  `${TEST_CONFIG}
masking:
  policies:
    - { database: shop, environment: production, table: users, column: email, mode: full }
    - { database: shop, environment: production, table: users, column: phnoe, mode: "null" }
`,
);
const schema = join(dir, "schema.json");
const columns = (...names: string[]) => names.map((name) => ({ name, type: "text", nullable: true }));
const table = (name: string, cols: string[]) => ({
  schema: "public",
  name,
  estimated_rows: 10,
  size_bytes: 8192,
  columns: columns(...cols),
  primary_key: ["id"],
  foreign_keys: [],
  indexes: [],
});
writeFileSync(
  schema,
  JSON.stringify({ tables: [table("users", ["id", "email", "phone"]), table("orders", ["id"])] }),
);

async function explain(sql: string): Promise<string> {
  const out = captureOutput();
  await main(
    [
      "policy",
      "explain",
      "--config",
      config,
      "--db",
      "shop",
      "--env",
      "production",
      "--sql",
      sql,
      "--schema",
      schema,
    ],
    {},
    out,
  );
  return out.stdout.join("\n");
}

describe("dbward policy explain with masking policies", () => {
  test("a read filtering on a masked column needs approval, and says which column and why", async () => {
    const text = await explain("SELECT id FROM users WHERE email LIKE 'a%'");
    assert.match(text, /\[warn\] masked_column_use: .*users\.email/);
    assert.match(text, /approval needed/);
  });

  test("a read that only shows the masked column stays auto-approved", async () => {
    const text = await explain("SELECT id, email FROM users");
    assert.doesNotMatch(text, /masked_column_use/);
    assert.match(text, /this request is auto-approved/);
  });

  test("a policy naming a column the schema context lacks is reported", async () => {
    assert.match(await explain("SELECT id FROM orders"), /masking_policy_unknown_column: .*users\.phnoe/);
  });
});
