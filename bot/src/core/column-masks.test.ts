import assert from "node:assert/strict";
import { before, describe, test } from "node:test";
import { initSqlReview, type SchemaTable } from "@dbward/shared";
import { maskingSchema } from "../config/masking-config.ts";
import { masksToSign } from "./column-masks.ts";

before(() => initSqlReview());

const { policies } = maskingSchema.parse({
  policies: [
    {
      database: "shop",
      environment: "*",
      table: "users",
      column: "email",
      mode: "partial",
      keep_leading: 1,
      keep_trailing: 4,
      clear_for: { groups: ["privacy"] },
    },
    {
      database: "shop",
      environment: "production",
      table: "users",
      column: "email",
      mode: "full",
      clear_for: { roles: ["dpo"] },
    },
    { database: "shop", environment: "*", table: "users", column: "ssn", mode: "hash" },
    { database: "other", environment: "*", table: "users", column: "phone", mode: "null" },
  ],
});

const table = (name: string): SchemaTable => ({ schema: "public", name }) as unknown as SchemaTable;
const SCHEMA = [table("users"), table("orders")];
const ALICE = { roles: ["requester"], groups: [] as string[] };

const sign = (
  sql: string,
  requester = ALICE,
  schema: SchemaTable[] | undefined = SCHEMA,
  environment = "production",
) => masksToSign({ policies, database: "shop", environment, dialect: "postgres", sql, requester, schema });

describe("masksToSign", () => {
  test("signs the most specific policy per column, and only this database's", () => {
    assert.deepEqual(sign("SELECT email, ssn FROM users"), [
      { schema: null, table: "users", column: "email", mode: "full", keep_leading: 0, keep_trailing: 0 },
      { schema: null, table: "users", column: "ssn", mode: "hash", keep_leading: 0, keep_trailing: 0 },
    ]);
    assert.equal(sign("SELECT email FROM users", ALICE, SCHEMA, "staging")?.[0]?.mode, "partial");
  });
  test("signs only the masks of the tables the statement reads, or all when it reads none of them", () => {
    const { policies: two } = maskingSchema.parse({
      policies: [
        { database: "shop", environment: "*", table: "users", column: "email", mode: "full" },
        { database: "shop", environment: "*", table: "cards", column: "pan", mode: "full" },
      ],
    });
    const of = (sql: string) =>
      masksToSign({
        policies: two,
        database: "shop",
        environment: "production",
        dialect: "postgres",
        sql,
        requester: ALICE,
        schema: [...SCHEMA, table("cards")],
      })?.map((m) => m.table);
    assert.deepEqual(of("SELECT email FROM users"), ["users"]);
    assert.deepEqual(of("SELECT * FROM users_v"), ["users", "cards"]);
  });
  test("drops the policies whose clear_for names one of the requester's roles or groups", () => {
    assert.deepEqual(
      sign("SELECT email FROM users", { roles: ["dpo"], groups: ["privacy"] })?.map((m) => m.column),
      ["ssn"],
    );
  });
  test("signs nothing for a read of unmasked tables only, or of nothing", () => {
    assert.equal(sign("SELECT count(*) FROM orders"), undefined);
    assert.equal(sign("SELECT 1"), undefined);
  });
  test("signs for a table with a column named like a masked one (a partition holds its parent's rows)", () => {
    const partition = {
      schema: "public",
      name: "users_2024",
      columns: [{ name: "EMAIL", type: "text", nullable: true }],
    };
    assert.ok(sign("SELECT id FROM users_2024", ALICE, [...SCHEMA, partition as unknown as SchemaTable]));
  });
  test("signs for a relation the schema context does not show (a view), with no context, or an unparseable text", () => {
    assert.ok(sign("SELECT * FROM users_v"));
    const noContext = { policies, database: "shop", environment: "production", dialect: "postgres" as const };
    assert.ok(
      masksToSign({ ...noContext, sql: "SELECT * FROM orders", requester: ALICE, schema: undefined }),
    );
    assert.ok(sign("SELEKT email FROM users"));
  });
  test("signs for a relation named like a reported table in another schema or another case", () => {
    assert.equal(sign("SELECT * FROM public.orders"), undefined);
    assert.ok(sign("SELECT * FROM reporting.orders"));
    assert.ok(sign('SELECT * FROM "Orders"'));
  });
});
