import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { z } from "zod";
import { didYouMean, editDistance, schemaKeysAt } from "./did-you-mean.ts";

describe("editDistance", () => {
  test("counts insertions, deletions and substitutions", () => {
    assert.equal(editDistance("requst", "request"), 1);
    assert.equal(editDistance("workflows", "workflow"), 1);
    assert.equal(editDistance("kitten", "sitting"), 3);
    assert.equal(editDistance("", "abc"), 3);
    assert.equal(editDistance("same", "same"), 0);
  });

  test("counts two swapped neighbours as one edit", () => {
    assert.equal(editDistance("tiemout", "timeout"), 1);
    assert.equal(editDistance("ab", "ba"), 1);
  });
});

describe("didYouMean", () => {
  const commands = ["bot", "agent", "demo", "request", "review", "reload", "token", "policy"];

  test("suggests the closest name for a typo", () => {
    assert.equal(didYouMean("requst", commands), "request");
    assert.equal(didYouMean("tiemout", ["timeout", "json", "url"]), "timeout");
    assert.equal(didYouMean("workflow", ["databases", "workflows", "users"]), "workflows");
    assert.equal(didYouMean("Tokn", commands), "token");
  });

  test("suggests nothing when no name is close enough to be a typo", () => {
    assert.equal(didYouMean("db", ["env", "sql"]), undefined);
    assert.equal(didYouMean("colour", ["databases", "workflows", "users"]), undefined);
    assert.equal(didYouMean("anything", []), undefined);
  });

  test("an exact match is not a suggestion", () => {
    assert.equal(didYouMean("bot", ["bot"]), undefined);
  });

  test("prefers the nearest, then the earlier, candidate", () => {
    assert.equal(didYouMean("revew", ["reload", "review"]), "review");
    assert.equal(didYouMean("abcd", ["abce", "abcf"]), "abce");
  });
});

describe("schemaKeysAt", () => {
  const schema = z.strictObject({
    listen: z.strictObject({ host: z.string(), port: z.number() }).default({ host: "h", port: 1 }),
    databases: z.array(z.strictObject({ name: z.string(), row_cap: z.number().optional() })),
    roles: z.record(z.string(), z.strictObject({ permissions: z.array(z.string()) })),
    auto: z.union([z.enum(["never"]), z.strictObject({ risk_at_most: z.string() })]),
    settings: z.strictObject({ ceiling: z.number().default(1) }).prefault({}),
    name: z.string().transform((s) => s.trim()),
  });

  test("names the keys of the object the path leads to", () => {
    assert.deepEqual(schemaKeysAt(schema, []), ["listen", "databases", "roles", "auto", "settings", "name"]);
    assert.deepEqual(schemaKeysAt(schema, ["listen"]), ["host", "port"]);
    assert.deepEqual(schemaKeysAt(schema, ["databases", 0]), ["name", "row_cap"]);
    assert.deepEqual(schemaKeysAt(schema, ["roles", "reviewer"]), ["permissions"]);
    assert.deepEqual(schemaKeysAt(schema, ["auto"]), ["risk_at_most"]);
    assert.deepEqual(schemaKeysAt(schema, ["settings"]), ["ceiling"]);
  });

  test("finds the keys zod reports an unrecognized key against", () => {
    const result = schema.safeParse({
      listen: { host: "h", prot: 1 },
      databases: [{ name: "a", row_cpa: 1 }],
      roles: {},
      auto: "never",
      settings: {},
      name: "x",
    });
    assert.equal(result.success, false);
    const unknown = result.error?.issues.filter((i) => i.code === "unrecognized_keys") ?? [];
    assert.deepEqual(
      unknown.map((i) => [i.path, schemaKeysAt(schema, i.path)]),
      [
        [["listen"], ["host", "port"]],
        [
          ["databases", 0],
          ["name", "row_cap"],
        ],
      ],
    );
    assert.equal(didYouMean("row_cpa", schemaKeysAt(schema, ["databases", 0])), "row_cap");
  });

  test("is empty where the path leads to no object", () => {
    assert.deepEqual(schemaKeysAt(schema, ["name"]), []);
    assert.deepEqual(schemaKeysAt(schema, ["databases", "x"]), []);
    assert.deepEqual(schemaKeysAt(schema, ["nowhere", 0]), []);
  });
});
