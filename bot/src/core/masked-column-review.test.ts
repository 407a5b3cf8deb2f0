import assert from "node:assert/strict";
import { before, describe, test } from "node:test";
import { initSqlReview, type SchemaTable } from "@dbward/shared";
import { maskingSchema } from "../config/masking-config.ts";
import { maskedColumnFindings, maskingSchemaFindings } from "./masked-column-review.ts";

before(() => initSqlReview());

const { policies } = maskingSchema.parse({
  policies: [
    {
      database: "*",
      environment: "*",
      table: "users",
      column: "email",
      mode: "full",
      clear_for: { roles: ["dpo"] },
    },
  ],
});
const SCHEMA = [
  { schema: "public", name: "users" },
  { schema: "public", name: "orders" },
] as unknown as SchemaTable[];

const findings = (sql: string, schema: SchemaTable[] | undefined = SCHEMA) =>
  maskedColumnFindings({
    policies,
    database: "shop",
    environment: "production",
    dialect: "postgres",
    sql,
    schema,
  });

describe("maskedColumnFindings", () => {
  test("names the masked column a read filters on, whoever may see it in the clear", () => {
    const [f] = findings("SELECT id FROM users WHERE email LIKE 'a%'");
    assert.equal(f?.rule, "masked_column_use");
    assert.equal(f?.severity, "warn");
    assert.match(f?.message ?? "", /users\.email/);
  });
  test("finds nothing in a read that only shows the column, or reads other tables", () => {
    assert.deepEqual(findings("SELECT id, email FROM users"), []);
    assert.deepEqual(findings("SELECT id FROM orders WHERE note LIKE 'a%'"), []);
  });
  test("counts a relation the schema does not show as a table as having the masked names", () => {
    assert.match(
      findings("SELECT id FROM users_v WHERE email LIKE 'a%'")[0]?.message ?? "",
      /users_v\.email.*view/,
    );
  });
  test("counts a table with a column named like a masked one (a partition) as holding masked rows", () => {
    const partition = {
      schema: "public",
      name: "users_2024",
      columns: [{ name: "email", type: "text", nullable: true }],
    };
    const schema = [...SCHEMA, partition] as unknown as SchemaTable[];
    assert.match(
      findings("SELECT id FROM users_2024 WHERE email LIKE 'a%'", schema)[0]?.message ?? "",
      /users_2024\.email/,
    );
    assert.deepEqual(findings("SELECT id FROM users_2024 WHERE id = 1", schema), []);
  });
  test("fails closed on a text it cannot follow", () => {
    assert.match(
      findings("SELECT id FROM orders WHERE EXISTS (SELECT * FROM users)")[0]?.message ?? "",
      /cannot tell/,
    );
  });
  test("finds nothing where no policy applies", () => {
    assert.deepEqual(
      maskedColumnFindings({
        policies: [],
        database: "shop",
        environment: "production",
        dialect: "postgres",
        sql: "SELECT 1 WHERE 'a' LIKE 'b'",
        schema: SCHEMA,
      }),
      [],
    );
  });
});

describe("maskingSchemaFindings", () => {
  const withColumns = [
    { schema: "public", name: "users", columns: [{ name: "id", type: "int", nullable: false }] },
  ] as unknown as SchemaTable[];
  test("reports a policy naming a column its table does not have", () => {
    const [f] = maskingSchemaFindings({
      policies,
      database: "shop",
      environment: "production",
      schema: withColumns,
    });
    assert.equal(f?.rule, "masking_policy_unknown_column");
    assert.match(f?.message ?? "", /users\.email/);
  });
  test("says nothing when the column exists or nothing is known of the table", () => {
    const withEmail = [
      { schema: "public", name: "users", columns: [{ name: "EMAIL", type: "text", nullable: true }] },
    ] as unknown as SchemaTable[];
    assert.deepEqual(
      maskingSchemaFindings({ policies, database: "shop", environment: "production", schema: withEmail }),
      [],
    );
    assert.deepEqual(
      maskingSchemaFindings({ policies, database: "shop", environment: "production", schema: [] }),
      [],
    );
    assert.deepEqual(
      maskingSchemaFindings({ policies, database: "shop", environment: "production", schema: undefined }),
      [],
    );
  });
});
