import assert from "node:assert/strict";
import { before, describe, test } from "node:test";
import { reviewNdjsonLine } from "./review-ndjson.ts";
import { initSqlReview } from "./review-sql.ts";

describe("reviewNdjsonLine", () => {
  before(async () => {
    await initSqlReview();
  });

  test("answers class, risk and findings for a line with sql", () => {
    const out: unknown = JSON.parse(reviewNdjsonLine('{"sql":"SELECT 1"}', "postgres"));
    assert.deepEqual(out, { class: "read", risk: "low", findings: [] });
  });

  test("answers on one line with no newline in it", () => {
    const out = reviewNdjsonLine(JSON.stringify({ sql: "DELETE FROM t\n" }), "mysql");
    assert.equal(out.includes("\n"), false);
    assert.equal((JSON.parse(out) as { class: string }).class, "write");
  });

  test("answers an error object for a line that is not JSON", () => {
    const out: unknown = JSON.parse(reviewNdjsonLine("{sql: nope", "postgres"));
    assert.deepEqual(Object.keys(out as object), ["error"]);
    assert.equal((out as { error: { code: string } }).error.code, "request.invalid");
  });

  test("answers an error object for JSON that is not an object with a string sql", () => {
    for (const line of ["[]", '"SELECT 1"', '{"sql": 1}', "{}", "null"]) {
      const out = JSON.parse(reviewNdjsonLine(line, "postgres")) as { error?: { message: string } };
      assert.ok(out.error !== undefined, line);
    }
  });

  test("passes options through to the review", () => {
    const out = JSON.parse(
      reviewNdjsonLine('{"sql":"DELETE FROM t"}', "postgres", { rules: { no_where_delete: "off" } }),
    ) as {
      findings: unknown[];
    };
    assert.deepEqual(out.findings, []);
  });
});
