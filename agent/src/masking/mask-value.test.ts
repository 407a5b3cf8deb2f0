import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { Secret } from "../secret.ts";
import { cellMask, FULL_MASK } from "./mask-value.ts";

const KEY = new Secret("a".repeat(32));
const mode = (m: "full" | "partial" | "hash" | "null", lead = 0, trail = 0) =>
  cellMask({ mode: m, keep_leading: lead, keep_trailing: trail }, KEY);

describe("cellMask", () => {
  test("full hides the value's length and type", () => {
    assert.equal(mode("full")("a much longer secret value"), FULL_MASK);
    assert.equal(mode("full")(42), FULL_MASK);
  });
  test("partial keeps code points at both ends, and hides a value that would hide fewer than it keeps", () => {
    assert.equal(mode("partial", 2, 3)("alice@example.com"), "al****com");
    assert.equal(mode("partial", 0, 4)("4111111111111111"), "****1111");
    assert.equal(mode("partial", 1, 1)("😀x😀y😀"), "😀****😀");
    assert.equal(mode("partial", 2, 2)("abcd"), FULL_MASK);
    assert.equal(mode("partial", 1, 4)("a@b.co"), FULL_MASK);
    assert.equal(mode("partial", 1, 4)("ab@cd.co.uk"), "a****o.uk");
    assert.equal(mode("partial", 1, 1)(1234), "1****4");
  });
  test("hash is stable for equal values, differs for others and under another key", () => {
    const h = mode("hash");
    assert.equal(h("x@y.z"), h("x@y.z"));
    assert.notEqual(h("x@y.z"), h("x@y.zz"));
    const other = cellMask({ mode: "hash", keep_leading: 0, keep_trailing: 0 }, new Secret("b".repeat(32)));
    assert.notEqual(h("x@y.z"), other("x@y.z"));
    assert.throws(() => cellMask({ mode: "hash", keep_leading: 0, keep_trailing: 0 }, undefined));
  });
  test("null is always NULL, and NULL stays NULL in every mode", () => {
    assert.equal(mode("null")("v"), null);
    for (const m of ["full", "partial", "hash"] as const) assert.equal(mode(m, 1, 1)(null), null);
  });
});
