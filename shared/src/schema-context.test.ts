import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { SchemaTable } from "./protocol.ts";
import { describeTouchedTable, largeTablesOf, touchedTables } from "./schema-context.ts";

const t = (
  name: string,
  rows: number | null,
  refs: {
    parent: string;
    on_delete: SchemaTable["foreign_keys"][number]["on_delete"];
    schema?: string;
  }[] = [],
  schema = "public",
): SchemaTable => ({
  schema,
  name,
  estimated_rows: rows,
  size_bytes: rows === null ? null : rows * 10,
  columns: [],
  primary_key: ["id"],
  foreign_keys: refs.map((r, i) => ({
    name: `${name}_fk${i}`,
    columns: ["p"],
    references: { schema: r.schema ?? "public", table: r.parent, columns: ["id"] },
    on_delete: r.on_delete,
    on_update: "no_action",
  })),
  indexes: [],
});

describe("schema context", () => {
  test("follows cascading foreign keys transitively, each table once, through cycles", () => {
    const tables = [
      t("a", 1, [{ parent: "c", on_delete: "cascade" }]),
      t("b", 2, [{ parent: "a", on_delete: "set_null" }]),
      t("c", 3, [{ parent: "b", on_delete: "cascade" }]),
      t("d", 4, [{ parent: "a", on_delete: "restrict" }]),
      t("e", 5, [{ parent: "a", on_delete: "no_action" }]),
    ];
    const [a] = touchedTables(["a"], tables);
    assert.deepEqual(
      a?.cascades.map((c) => [c.name, c.action]),
      [
        ["b", "set_null"],
        ["c", "cascade"],
      ],
      "RESTRICT and NO ACTION change nothing; the cycle back to a stops",
    );
  });

  test("an unqualified name matches the table in every schema; an unknown one is said to be unknown", () => {
    const tables = [t("orders", 10), t("orders", 20, [], "archive")];
    assert.deepEqual(
      touchedTables(["orders", "nope"], tables).map((x) => [x.schema, x.name, x.estimated_rows]),
      [
        ["public", "orders", 10],
        ["archive", "orders", 20],
        [null, "nope", null],
      ],
    );
  });

  test("large tables for risk: large themselves, of unknown size, or cascading into a large one", () => {
    const tables = [
      t("parent", 10),
      t("child", 2_000_000, [{ parent: "parent", on_delete: "cascade" }]),
      t("lonely", 50),
      t("unknown", null),
    ];
    // A table of unknown size is not shown to be small (a partitioned parent, never analysed).
    assert.deepEqual([...largeTablesOf(tables)].sort(), ["child", "parent", "unknown"]);
    assert.deepEqual([...largeTablesOf(tables, 40)].sort(), ["child", "lonely", "parent", "unknown"]);
  });

  test("describes a table for approvers with its rows, size and cascades", () => {
    const tables = [
      t("parent", 1_204_000),
      t("child", 5_000_000, [{ parent: "parent", on_delete: "cascade" }]),
    ];
    const [parent] = touchedTables(["parent"], tables);
    assert.ok(parent !== undefined);
    assert.equal(
      describeTouchedTable(parent),
      "public.parent (~1,204,000 rows, 11 MB; cascades into public.child ~5,000,000 rows)",
    );
    const [ghost] = touchedTables(["ghost"], tables);
    assert.ok(ghost !== undefined);
    assert.equal(describeTouchedTable(ghost), "ghost (not in the schema context)");
  });
});
