import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { parseSlashCommand } from "./command-parser.ts";

const DBS = [
  { name: "shop", environments: ["production", "staging"] },
  { name: "demo", environments: ["local"] },
];

describe("parsing /dbward", () => {
  test("reads help, list, status and cancel", () => {
    assert.deepEqual(parseSlashCommand("", DBS), { kind: "help" });
    assert.deepEqual(parseSlashCommand("  help ", DBS), { kind: "help" });
    assert.deepEqual(parseSlashCommand("list", DBS), { kind: "list" });
    assert.deepEqual(parseSlashCommand("status #42", DBS), { kind: "status", id: 42 });
    assert.deepEqual(parseSlashCommand("cancel 7 not needed &amp; wrong", DBS), {
      kind: "cancel",
      id: 7,
      reason: "not needed & wrong",
    });
  });

  test("explains how to give a request number when it is missing", () => {
    const c = parseSlashCommand("status", DBS);
    assert.equal(c.kind, "usage");
    assert.match(c.kind === "usage" ? c.message : "", /status <id>/);
  });

  test("reads a complete one-line query with a quoted reason", () => {
    assert.deepEqual(parseSlashCommand('query shop production "fix order 7" UPDATE orders SET x = 1', DBS), {
      kind: "query",
      draft: {
        database: "shop",
        environment: "production",
        sql: "UPDATE orders SET x = 1",
        reason: "fix order 7",
      },
    });
  });

  test("takes the only environment when the database has one", () => {
    assert.deepEqual(parseSlashCommand("query demo SELECT 1", DBS), {
      kind: "query",
      draft: { database: "demo", environment: "local", sql: "SELECT 1" },
    });
  });

  test("leaves the environment for the modal when a database has several and none was named", () => {
    assert.deepEqual(parseSlashCommand("query shop SELECT 1", DBS), {
      kind: "query",
      draft: { database: "shop", sql: "SELECT 1" },
    });
  });

  test("refuses an unknown database or environment with the known names", () => {
    const db = parseSlashCommand("query shp production SELECT 1", DBS);
    assert.equal(db.kind, "usage");
    assert.match(db.kind === "usage" ? db.message : "", /`shop`, `demo`/);
    const env = parseSlashCommand("query shop prod SELECT 1", DBS);
    assert.match(
      env.kind === "usage" ? env.message : "",
      /no environment `prod`; it has `production`, `staging`/,
    );
  });

  test("undoes Slack's formatting in the SQL part", () => {
    const c = parseSlashCommand("query shop staging ```SELECT * FROM t WHERE a &lt; 3```", DBS);
    assert.deepEqual(c, {
      kind: "query",
      draft: { database: "shop", environment: "staging", sql: "SELECT * FROM t WHERE a < 3" },
    });
  });

  test("names an unknown subcommand", () => {
    const c = parseSlashCommand("approve 3", DBS);
    assert.match(c.kind === "usage" ? c.message : "", /no `approve` command/);
  });
});
