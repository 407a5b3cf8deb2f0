/**
 * The row guard as the job runner applies it: the bound comes from the signed token only, an
 * over-bound write is rolled back and fails with execution.row_guard (its token spent, so it is
 * never re-run), and a bound added, lifted or re-signed by a key the agent has not pinned is
 * refused before anything runs.
 */
import assert from "node:assert/strict";
import { before, describe, test } from "node:test";
import Database from "better-sqlite3";
import { initSqlReview } from "@dbward/shared";
import { assertRefused, jobFixture as setup } from "../../test/support/agent/job-fixture.ts";
import { generateSigningKey, signedClaim } from "../../test/support/agent/unit-helpers.ts";

before(() => initSqlReview());

const RENAME_ALL = "UPDATE items SET name = 'z'";
const names = (file: string): string[] => {
  const db = new Database(file, { readonly: true });
  try {
    return (db.prepare("SELECT name FROM items ORDER BY id").all() as { name: string }[]).map((r) => r.name);
  } finally {
    db.close();
  }
};

describe("the row guard in runJob (execution.row_guard)", () => {
  test("rolls back a write that changed more rows than its signed bound, and spends its token", async (t) => {
    const s = setup(t);
    const claim = s.claim({ sql: RENAME_ALL, operation: "write", max_rows: 2 });
    const { body } = await s.run(claim);
    assert.equal(body.outcome, "failed", JSON.stringify(body));
    assert.equal(body.error?.code, "execution.row_guard");
    assert.match(body.error?.message ?? "", /changed 3 rows, more than its approved bound of 2; rolled back/);
    assert.deepEqual(names(s.file), ["a", "b", "c"], "nothing was committed");
    assertRefused((await s.run(claim)).body, "token.replayed");
    assert.equal(s.executed.length, 1, "the over-bound write ran once and was not retried");
  });

  test("commits a write within its bound, and one at exactly the bound", async (t) => {
    const s = setup(t);
    const within = await s.run(
      s.claim({ sql: "UPDATE items SET name = 'y' WHERE id = 1", operation: "write", max_rows: 2 }),
    );
    assert.equal(within.body.outcome, "succeeded", JSON.stringify(within.body));
    const exact = await s.run(s.claim({ sql: RENAME_ALL, operation: "write", max_rows: 3 }));
    assert.equal(exact.body.outcome, "succeeded", JSON.stringify(exact.body));
    assert.equal(exact.body.affected_rows, 3);
    assert.deepEqual(names(s.file), ["z", "z", "z"]);
  });

  test("refuses a guarded write re-signed by a key this agent has not pinned", async (t) => {
    const s = setup(t);
    const lifted = signedClaim(generateSigningKey(), {
      sql: RENAME_ALL,
      database: "app",
      environment: "production",
      operation: "write",
      max_rows: 1_000_000,
    });
    assertRefused((await s.run(lifted)).body, "token.unknown_key");
    assert.deepEqual(s.executed, []);
  });

  test("refuses a bound on a read or a DDL before running anything", async (t) => {
    const s = setup(t);
    assertRefused((await s.run(s.claim({ max_rows: 5 }))).body, "token.purpose_mismatch");
    assertRefused(
      (await s.run(s.claim({ sql: "CREATE TABLE t (x int)", operation: "ddl", max_rows: 5 }))).body,
      "token.purpose_mismatch",
    );
    assert.deepEqual(s.executed, []);
    assert.equal(s.ledgerSize(), 0, "a refused token is not spent");
  });
});
