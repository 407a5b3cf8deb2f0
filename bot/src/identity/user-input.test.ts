import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { DbwardError } from "@dbward/shared";
import { parseGroups, parseRoles, userIdFrom } from "./user-input.ts";

const invalid = (err: unknown) => err instanceof DbwardError && err.code === "request.invalid";

describe("user input", () => {
  test("makes user ids from free text", () => {
    assert.equal(userIdFrom("Ada Lovelace"), "ada-lovelace");
    assert.equal(userIdFrom("José.Núñez"), "jose.nunez");
    assert.equal(userIdFrom("--x--"), "x");
    assert.equal(userIdFrom("!!!"), undefined);
    assert.equal(userIdFrom("a".repeat(100))?.length, 63);
  });

  test("accepts built-in and custom roles, refuses unknown ones and empty lists", () => {
    const custom = { auditor: { permissions: ["audit.read"] as const } };
    assert.deepEqual(parseRoles(["requester", "auditor", "requester"], custom), ["auditor", "requester"]);
    assert.throws(() => parseRoles(["root"], custom), invalid);
    assert.throws(() => parseRoles([], custom), invalid);
    assert.throws(() => parseRoles("admin", custom), invalid);
  });

  test("accepts group names and refuses anything else", () => {
    assert.deepEqual(parseGroups(undefined), []);
    assert.deepEqual(parseGroups(["dba", "dba", "ops"]), ["dba", "ops"]);
    assert.throws(() => parseGroups(["DBA"]), invalid);
  });
});
