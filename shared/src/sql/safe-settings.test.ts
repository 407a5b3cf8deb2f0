import assert from "node:assert/strict";
import { before, describe, test } from "node:test";
import { initSqlReview, reviewSql } from "./review-sql.ts";
import { DEFAULT_SETTING_CEILINGS, settingProblem } from "./safe-settings.ts";
import { parseByteSize, trustedFunctionProblem } from "./review-trust.ts";

describe("session settings are bounded", () => {
  before(() => initSqlReview());

  test("refuses PostgreSQL memory settings above the default ceiling, in any unit", () => {
    for (const sql of [
      "SET work_mem = '1TB'; SELECT 1",
      "SET maintenance_work_mem TO '2GB'; SELECT 1",
      "SET LOCAL work_mem = 1073741824; SELECT 1", // a bare number is kB: 1 TB
      "SET temp_buffers = 40000; SELECT 1", // 8 kB blocks: about 312 MB
      "SET hash_mem_multiplier = 1000; SELECT 1",
    ]) {
      const review = reviewSql(sql, "postgres");
      assert.equal(review.class, "rejected", sql);
      assert.match(review.findings[0]?.message ?? "", /ceiling/, sql);
    }
  });

  test("allows PostgreSQL memory settings at or below the ceiling, and DEFAULT", () => {
    for (const sql of [
      "SET work_mem = '64MB'; SELECT 1",
      "SET work_mem = '256MB'; SELECT 1",
      "SET work_mem = 65536; SELECT 1",
      "SET work_mem TO DEFAULT; SELECT 1",
      "RESET work_mem; SELECT 1",
      "SET hash_mem_multiplier = 2.5; SELECT 1",
    ]) {
      assert.equal(reviewSql(sql, "postgres").class, "read", sql);
    }
  });

  test("bounds parallel workers, each of which gets its own work_mem, and says a near miss in bytes", () => {
    const workers = reviewSql("SET max_parallel_workers_per_gather = 1024; SELECT 1", "postgres");
    assert.equal(workers.class, "rejected");
    assert.match(workers.findings[0]?.message ?? "", /ceiling of 4/);
    assert.equal(reviewSql("SET max_parallel_workers_per_gather = 2; SELECT 1", "postgres").class, "read");
    const nearMiss = reviewSql("SET work_mem = 262144.9; SELECT 1", "postgres");
    assert.match(
      nearMiss.findings[0]?.message ?? "",
      /268436378 bytes, above this database's ceiling of 268435456 bytes/,
    );
  });

  test("refuses a memory value it cannot read as a size, and a unit PostgreSQL does not know", () => {
    assert.equal(reviewSql("SET work_mem = 'lots'; SELECT 1", "postgres").class, "rejected");
    assert.equal(reviewSql("SET work_mem = '64mb'; SELECT 1", "postgres").class, "rejected");
  });

  test("takes a per-database ceiling from the options", () => {
    const settingCeilings = { memoryBytes: 2 * 1024 ** 3, hashMemMultiplier: 8, parallelWorkers: 4 };
    assert.equal(reviewSql("SET work_mem = '1GB'; SELECT 1", "postgres", { settingCeilings }).class, "read");
    assert.equal(reviewSql("SET work_mem = '1GB'; SELECT 1", "postgres").class, "rejected");
  });

  test("bounds MySQL session buffers in bytes", () => {
    assert.match(
      settingProblem("mysql", "sort_buffer_size", [{ kind: "number", value: 2 ** 40 }]) ?? "",
      /above this database's ceiling of 256 MB/,
    );
    assert.equal(
      settingProblem("mysql", "sort_buffer_size", [{ kind: "number", value: 2 ** 20 }]),
      undefined,
    );
    assert.match(
      settingProblem("mysql", "sort_buffer_size", [{ kind: "string", value: "1G" }]) ?? "",
      /bytes/,
    );
  });

  test("keeps search_path, role and unknown names out whatever the value", () => {
    for (const name of ["search_path", "role", "session_authorization", "made_up"]) {
      assert.match(settingProblem("postgres", name, [{ kind: "string", value: "x" }]) ?? "", /not one of/);
    }
    assert.equal(
      reviewSql("SET search_path = evil, pg_catalog; SELECT lower('x')", "postgres").class,
      "rejected",
    );
  });

  test("has a sensible default ceiling", () => {
    assert.deepEqual(DEFAULT_SETTING_CEILINGS, {
      memoryBytes: 256 * 1024 ** 2,
      hashMemMultiplier: 4,
      parallelWorkers: 4,
    });
  });

  test("reads configured sizes", () => {
    assert.equal(parseByteSize("256MB"), 256 * 1024 ** 2);
    assert.equal(parseByteSize("1.5GB"), 1.5 * 1024 ** 3);
    assert.equal(parseByteSize(4096), 4096);
    assert.equal(parseByteSize("a lot"), undefined);
    assert.equal(parseByteSize("0"), undefined);
  });

  test("trusts only schema-qualified functions outside the built-in schemas and never-a-read names", () => {
    assert.equal(trustedFunctionProblem("reporting.monthly_revenue"), undefined);
    assert.match(trustedFunctionProblem("monthly_revenue") ?? "", /schema\.function/);
    assert.match(trustedFunctionProblem("Reporting.Revenue") ?? "", /lower case/);
    assert.match(trustedFunctionProblem("pg_catalog.lower") ?? "", /built-ins/);
    assert.match(trustedFunctionProblem("public.pg_sleep") ?? "", /sleeps/);
    assert.match(trustedFunctionProblem("app.get_lock") ?? "", /named server lock/);
    assert.match(trustedFunctionProblem("x.dblink_exec") ?? "", /another server/);
  });
});
