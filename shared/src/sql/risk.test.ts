import assert from "node:assert/strict";
import { before, describe, test } from "node:test";
import { initSqlReview, reviewSql } from "./review-sql.ts";
import { assessRisk, type RiskInput } from "./risk.ts";

const base: RiskInput = { class: "write", hits: [], writingStatements: 1, effectUnknown: false, targets: [] };

describe("risk", () => {
  before(async () => {
    await initSqlReview();
  });

  test("a read is low", () => {
    assert.equal(reviewSql("SELECT * FROM accounts", "postgres").risk, "low");
  });

  test("a read with a large IN list is medium", () => {
    const ids = Array.from({ length: 150 }, (_, i) => i).join(",");
    assert.equal(reviewSql(`SELECT * FROM accounts WHERE id IN (${ids})`, "mysql").risk, "medium");
  });

  test("a bounded write is medium", () => {
    assert.equal(reviewSql("UPDATE accounts SET balance = 1 WHERE id = 1", "postgres").risk, "medium");
  });

  test("plain DDL is medium", () => {
    assert.equal(reviewSql("CREATE TABLE accounts_archive (id int)", "postgres").risk, "medium");
  });

  test("drops and truncates are high", () => {
    assert.equal(reviewSql("DROP TABLE accounts", "postgres").risk, "high");
    assert.equal(reviewSql("TRUNCATE TABLE accounts", "mysql").risk, "high");
    assert.equal(reviewSql("DROP INDEX accounts_owner_idx", "postgres").risk, "high");
  });

  test("a write to every row is critical", () => {
    assert.equal(reviewSql("DELETE FROM accounts", "mysql").risk, "critical");
  });

  test("CASCADE is critical", () => {
    assert.equal(reviewSql("DROP TABLE accounts CASCADE", "postgres").risk, "critical");
  });

  test("two warnings climb a level", () => {
    const sql = "ALTER TABLE accounts ADD COLUMN tier int NOT NULL, ALTER COLUMN note TYPE varchar(10)";
    assert.equal(reviewSql(sql, "postgres").risk, "critical");
    assert.equal(
      assessRisk({ ...base, hits: [{ rule: "large_in_list" }, { rule: "large_in_list" }] }),
      "high",
    );
  });

  test("several writing statements are at least high", () => {
    const sql = "UPDATE accounts SET balance = 1 WHERE id = 1; UPDATE accounts SET balance = 2 WHERE id = 2";
    assert.equal(reviewSql(sql, "postgres", { multipleStatements: "allow" }).risk, "high");
  });

  test("DO, CALL and EXECUTE are unknown: what runs is not in the text", () => {
    assert.equal(reviewSql("DO $$ BEGIN NULL; END $$", "postgres").risk, "unknown");
    assert.equal(reviewSql("CALL accounts_touch()", "mysql").risk, "unknown");
  });

  test("a text the parser cannot read is unavailable", () => {
    assert.equal(reviewSql("SELEC 1", "postgres").risk, "unavailable");
    assert.equal(reviewSql("SELEC 1", "mysql").risk, "unavailable");
  });

  test("a rejected text is critical", () => {
    assert.equal(reviewSql("GRANT ALL ON accounts TO PUBLIC", "postgres").risk, "critical");
    assert.equal(reviewSql("SELECT 1; SELECT 2", "mysql").risk, "critical");
  });

  test("a write to a table known to be large climbs a level", () => {
    const options = { schema: { largeTables: new Set(["accounts"]) } };
    assert.equal(reviewSql("UPDATE accounts SET balance = 1 WHERE id = 1", "postgres", options).risk, "high");
    assert.equal(reviewSql("UPDATE ledger SET amount = 1 WHERE id = 1", "postgres", options).risk, "medium");
    assert.equal(reviewSql("UPDATE accounts SET balance = 1 WHERE id = 1", "mysql", options).risk, "high");
  });

  test("never climbs past critical", () => {
    const hits = [{ rule: "cascade" as const }, { rule: "no_where_delete" as const }];
    assert.equal(assessRisk({ ...base, hits, writingStatements: 3 }), "critical");
  });
  test("rates a call in a never-a-read category at least high, so a medium threshold never passes it", async () => {
    await initSqlReview();
    assert.equal(
      reviewSql("SELECT pg_terminate_backend(pid) FROM pg_stat_activity", "postgres").risk,
      "high",
    );
    assert.equal(reviewSql("SELECT GET_LOCK('x', 0)", "mysql").risk, "high");
  });
});
