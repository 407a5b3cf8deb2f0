/**
 * The plan summarizer, on plans captured from the real servers (test/fixtures/plans/: PostgreSQL
 * 15 `EXPLAIN (FORMAT JSON)` and MariaDB 10.11 `EXPLAIN FORMAT=JSON`, over two tables of 5000
 * and 2000 rows, analyzed), and on untrusted shapes it must survive.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, test } from "node:test";
import {
  describePlanSummary,
  isPlanShape,
  MAX_PLAN_NODES,
  summarizePlan,
  type PlanEngine,
} from "./plan-summary.ts";

const fixture = (name: string): unknown =>
  JSON.parse(readFileSync(new URL(`../../test/fixtures/plans/${name}.json`, import.meta.url), "utf8"));

const EMPTY = {
  estimated_rows: null,
  total_cost: null,
  costliest_node: null,
  sequential_scans: [],
  truncated: false,
};

describe("PostgreSQL plans", () => {
  test("a join lists both sequential scans and names the costliest node by its own cost", () => {
    assert.deepEqual(summarizePlan("postgres", fixture("postgres-select-join")), {
      engine: "postgres",
      estimated_rows: 5,
      total_cost: 139.33,
      costliest_node: { node_type: "Seq Scan", relation: "probe_plans_x1", cost: 90.5 },
      sequential_scans: [
        { scan: "Seq Scan", relation: "probe_plans_y1", estimated_rows: 2000 },
        { scan: "Seq Scan", relation: "probe_plans_x1", estimated_rows: 500 },
      ],
      truncated: false,
    });
  });

  test("an UPDATE estimates the rows it would change, not ModifyTable's zero", () => {
    const summary = summarizePlan("postgres", fixture("postgres-update"));
    assert.equal(summary.estimated_rows, 1111);
    assert.equal(summary.total_cost, 93.28);
    assert.deepEqual(summary.costliest_node, {
      node_type: "Seq Scan",
      relation: "probe_plans_x1",
      cost: 93.28,
    });
    assert.deepEqual(summary.sequential_scans, [
      { scan: "Seq Scan", relation: "probe_plans_x1", estimated_rows: 1111 },
    ]);
  });

  test("a DELETE by primary key has no sequential scan", () => {
    const summary = summarizePlan("postgres", fixture("postgres-delete-by-key"));
    assert.equal(summary.estimated_rows, 1);
    assert.deepEqual(summary.sequential_scans, []);
    assert.equal(summary.costliest_node?.node_type, "Index Scan");
  });

  test("an INSERT of one row estimates one row", () => {
    assert.equal(summarizePlan("postgres", fixture("postgres-insert-values")).estimated_rows, 1);
  });

  test("scans inside a CTE and a subplan are found", () => {
    const summary = summarizePlan("postgres", fixture("postgres-cte-subplan"));
    assert.deepEqual(
      summary.sequential_scans.map((s) => s.relation),
      ["probe_plans_x1", "probe_plans_y1", "probe_plans_y1"],
    );
  });

  test("a schema given by EXPLAIN VERBOSE qualifies the relation", () => {
    const plan = [
      {
        Plan: {
          "Node Type": "Seq Scan",
          "Relation Name": "t",
          Schema: "app",
          "Total Cost": 3,
          "Plan Rows": 7,
        },
      },
    ];
    assert.deepEqual(summarizePlan("postgres", plan).sequential_scans, [
      { scan: "Seq Scan", relation: "app.t", estimated_rows: 7 },
    ]);
  });
});

describe("MariaDB plans", () => {
  test("a join under filesort and temporary_table lists its full scan, with no costs on MariaDB 10", () => {
    assert.deepEqual(summarizePlan("mysql", fixture("mariadb-select-join")), {
      engine: "mysql",
      estimated_rows: 2000,
      total_cost: null,
      costliest_node: null,
      sequential_scans: [{ scan: "ALL", relation: "y", estimated_rows: 2000 }],
      truncated: false,
    });
  });

  test("an UPDATE that reads the whole table through its primary key is listed as a full index scan", () => {
    const summary = summarizePlan("mysql", fixture("mariadb-update-full-scan"));
    assert.equal(summary.estimated_rows, 2000);
    assert.deepEqual(summary.sequential_scans, [
      { scan: "index", relation: "probe_plans_y1", estimated_rows: 2000 },
    ]);
  });

  test("a DELETE on an index range has no full scan", () => {
    const summary = summarizePlan("mysql", fixture("mariadb-delete-range"));
    assert.equal(summary.estimated_rows, 500);
    assert.deepEqual(summary.sequential_scans, []);
  });

  test("an INSERT of values gives no row estimate", () => {
    assert.deepEqual(summarizePlan("mysql", fixture("mariadb-insert-values")), { engine: "mysql", ...EMPTY });
  });

  test("a materialized subquery's full scan is found, its temporary table is not listed", () => {
    const summary = summarizePlan("mysql", fixture("mariadb-subquery-materialized"));
    assert.equal(summary.estimated_rows, 500);
    assert.deepEqual(summary.sequential_scans, [
      { scan: "ALL", relation: "probe_plans_y1", estimated_rows: 2000 },
    ]);
  });

  test("a UNION lists each block's scan and sums their estimates, not the union's temporary table", () => {
    const summary = summarizePlan("mysql", fixture("mariadb-union"));
    assert.equal(summary.estimated_rows, 7000);
    assert.deepEqual(
      summary.sequential_scans.map((s) => s.relation),
      ["probe_plans_x1", "probe_plans_y1"],
    );
  });
});

describe("MySQL 8 plan shape", () => {
  // The shape MySQL 8.0 documents for EXPLAIN FORMAT=JSON: costs as strings in cost_info,
  // rows as rows_examined_per_scan, filtered as a string.
  const plan = {
    query_block: {
      select_id: 1,
      cost_info: { query_cost: "2423.50" },
      ordering_operation: {
        using_filesort: true,
        nested_loop: [
          {
            table: {
              table_name: "o",
              access_type: "ALL",
              rows_examined_per_scan: 10000,
              rows_produced_per_join: 1000,
              filtered: "10.00",
              cost_info: { read_cost: "905.00", eval_cost: "100.00", prefix_cost: "1005.00" },
            },
          },
          {
            table: {
              table_name: "c",
              access_type: "eq_ref",
              rows_examined_per_scan: 1,
              rows_produced_per_join: 1000,
              filtered: "100.00",
              cost_info: { read_cost: "1318.50", eval_cost: "100.00", prefix_cost: "2423.50" },
            },
          },
        ],
      },
    },
  };

  test("costs come from cost_info and rows from rows_examined_per_scan × filtered", () => {
    assert.deepEqual(summarizePlan("mysql", plan), {
      engine: "mysql",
      estimated_rows: 1000,
      total_cost: 2423.5,
      costliest_node: { node_type: "eq_ref", relation: "c", cost: 1418.5 },
      sequential_scans: [{ scan: "ALL", relation: "o", estimated_rows: 10000 }],
      truncated: false,
    });
  });
});

describe("untrusted input", () => {
  const junk: unknown[] = [
    null,
    undefined,
    42,
    "EXPLAIN",
    [],
    [null],
    {},
    { Plan: "x" },
    [{ Plan: { "Node Type": 5, "Total Cost": "NaN", Plans: "none" } }],
    { query_block: [] },
    { query_block: { table: "t", nested_loop: {} } },
    { query_block: { nested_loop: [null, 1, { table: null }] } },
    [{ Plan: { "Node Type": "Seq Scan", "Total Cost": Infinity, "Plan Rows": "1e400" } }],
  ];
  for (const engine of ["postgres", "mysql"] as const satisfies readonly PlanEngine[]) {
    test(`${engine}: unknown shapes give nulls and empty lists, never an exception`, () => {
      for (const plan of junk) {
        const summary = summarizePlan(engine, plan);
        assert.equal(summary.total_cost, null);
        assert.equal(summary.estimated_rows, null);
        assert.equal(summary.truncated, false);
        for (const scan of summary.sequential_scans) assert.equal(scan.estimated_rows, null);
      }
    });
  }

  test("a plan nested deeper than the walk follows is cut off and marked truncated", () => {
    let pgNode: Record<string, unknown> = {
      "Node Type": "Seq Scan",
      "Relation Name": "deep",
      "Total Cost": 1,
    };
    let myNode: Record<string, unknown> = { table_name: "deep", access_type: "ALL", rows: 1 };
    for (let i = 0; i < 5000; i += 1) {
      pgNode = { "Node Type": "Materialize", "Total Cost": 1, Plans: [pgNode] };
      myNode = { materialized: { query_block: myNode } };
    }
    const pg = summarizePlan("postgres", [{ Plan: pgNode }]);
    assert.equal(pg.truncated, true);
    assert.deepEqual(pg.sequential_scans, []);
    const my = summarizePlan("mysql", { query_block: myNode });
    assert.equal(my.truncated, true);
    assert.deepEqual(my.sequential_scans, []);
  });

  test("a plan with more nodes than the cap stops at the cap", () => {
    const scan = { "Node Type": "Seq Scan", "Relation Name": "wide", "Total Cost": 1, "Plan Rows": 1 };
    const plans = Array.from({ length: MAX_PLAN_NODES * 2 }, () => scan);
    const summary = summarizePlan("postgres", [
      { Plan: { "Node Type": "Append", "Total Cost": 1, Plans: plans } },
    ]);
    assert.equal(summary.truncated, true);
    assert.equal(summary.sequential_scans.length, MAX_PLAN_NODES - 1);
  });

  test("an object that contains itself (not JSON, but not trusted either) ends the walk", () => {
    const loop: Record<string, unknown> = { table_name: "t", access_type: "ALL", rows: 1 };
    loop["nested_loop"] = [loop];
    const summary = summarizePlan("mysql", { query_block: loop });
    assert.equal(summary.truncated, true);
  });
});

describe("describePlanSummary", () => {
  test("says rows, the costliest node and the full scans in one line", () => {
    const line = describePlanSummary({
      engine: "postgres",
      estimated_rows: 1204.4,
      total_cost: 10,
      costliest_node: { node_type: "Seq Scan", relation: "orders", cost: 9 },
      sequential_scans: [
        { scan: "Seq Scan", relation: "orders", estimated_rows: 50_000 },
        { scan: "Seq Scan", relation: "a", estimated_rows: null },
        { scan: "Seq Scan", relation: "b", estimated_rows: 1 },
        { scan: "Seq Scan", relation: null, estimated_rows: 2 },
      ],
      truncated: true,
    });
    assert.equal(
      line,
      "~1,204 rows · costliest: Seq Scan on orders · full scans: orders (~50,000 rows), a, b (~1 rows) and 1 more · plan too large to read whole",
    );
  });

  test("says so when the plan estimates nothing and scans no whole table", () => {
    const line = describePlanSummary({
      engine: "mysql",
      estimated_rows: null,
      total_cost: null,
      costliest_node: null,
      sequential_scans: [],
      truncated: false,
    });
    assert.equal(line, "rows not estimated · no full scans");
  });
});

describe("plans from a hostile agent", () => {
  test("an estimate that overflows is unknown, never Infinity or NaN", () => {
    const huge = {
      table: { table_name: "t", access_type: "ALL", rows_examined_per_scan: 1e200, filtered: 100 },
    };
    const mysql = summarizePlan("mysql", { query_block: { nested_loop: [huge, huge] } });
    assert.equal(mysql.estimated_rows, null);
    const pg = summarizePlan("postgres", [
      { Plan: { "Node Type": "Seq Scan", "Total Cost": Infinity, "Plan Rows": NaN } },
    ]);
    assert.equal(pg.total_cost, null);
    assert.equal(pg.estimated_rows, null);
    assert.equal(pg.costliest_node, null);
    assert.doesNotThrow(() => JSON.stringify(mysql) + JSON.stringify(pg));
  });

  test("only EXPLAIN's own shapes count as plans", () => {
    assert.equal(isPlanShape("postgres", [{ Plan: { "Node Type": "Result" } }]), true);
    assert.equal(isPlanShape("mysql", { query_block: { select_id: 1 } }), true);
    for (const notAPlan of [42, "no plan", [], [{}], [{ Plan: 1 }], {}, null, { query_block: [] }]) {
      assert.equal(isPlanShape("postgres", notAPlan), false, JSON.stringify(notAPlan));
      assert.equal(isPlanShape("mysql", notAPlan), false, JSON.stringify(notAPlan));
    }
  });
});
