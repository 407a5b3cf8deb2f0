import { test, describe } from "node:test";
import assert from "node:assert/strict";
import {
  NAME_RULE,
  parseAgentId,
  parseDatabaseName,
  parseEnvironmentName,
  parseRequestId,
  parseUserId,
} from "./ids.ts";

describe("parseRequestId", () => {
  const accepted: ReadonlyArray<readonly [unknown, number]> = [
    ["42", 42],
    ["#42", 42],
    [42, 42],
    [" #42 ", 42],
    ["\t7\n", 7],
    [1, 1],
    ["999999999999999", 999_999_999_999_999],
    [999_999_999_999_999, 999_999_999_999_999],
  ];
  for (const [input, expected] of accepted) {
    test(`accepts ${JSON.stringify(input)} as request ${expected}`, () => {
      const id = parseRequestId(input);
      assert.equal(typeof id, "number");
      assert.equal(id, expected);
    });
  }

  const refused: ReadonlyArray<readonly [string, unknown]> = [
    ["zero", 0],
    ["the text 0", "0"],
    ["#0", "#0"],
    ["negative zero", -0],
    ["-1", -1],
    ["the text -1", "-1"],
    ["a trailing letter", "4x"],
    ["a leading letter", "x4"],
    ["1e20", 1e20],
    ["the text 1e20", "1e20"],
    ["sixteen digits, beyond the safe range the parser allows", "1000000000000000"],
    ["the number 1e15", 1e15],
    ["a blank string", " "],
    ["the empty string", ""],
    ["a lone #", "#"],
    ["a double #", "##42"],
    ["a space after #", "# 42"],
    ["a leading zero", "042"],
    ["a plus sign", "+42"],
    ["an inner space", "4 2"],
    ["a fraction", 42.5],
    ["the text 42.0", "42.0"],
    ["hex", "0x2a"],
    ["full-width digits", "４２"],
    ["Arabic-Indic digits", "٤٢"],
    ["NaN", Number.NaN],
    ["Infinity", Number.POSITIVE_INFINITY],
    ["null", null],
    ["undefined", undefined],
    ["a boolean", true],
    ["an array", [42]],
    ["an object", { id: 42 }],
    ["a boxed number", Object(42)],
  ];
  for (const [name, input] of refused) {
    test(`refuses ${name}`, () => {
      assert.equal(parseRequestId(input), undefined);
    });
  }
});

describe("name parsers", () => {
  const parsers = [
    ["parseDatabaseName", parseDatabaseName],
    ["parseEnvironmentName", parseEnvironmentName],
    ["parseUserId", parseUserId],
    ["parseAgentId", parseAgentId],
  ] as const;
  const longest = `a${"b".repeat(62)}`;

  for (const [name, parse] of parsers) {
    test(`${name} accepts lower-case names of letters, digits, '_', '.', '-' up to 63 characters`, () => {
      for (const value of ["main", "a", "0db", "prod-eu_1.replica", "agent-1", longest]) {
        assert.equal(parse(value), value, value);
      }
    });

    test(`${name} refuses anything else`, () => {
      const refused: readonly unknown[] = [
        "",
        `${longest}c`,
        "Main",
        "MAIN",
        "-db",
        "_db",
        ".db",
        "db name",
        "db/other",
        "../db",
        "db\n",
        " db",
        "db:1",
        "dé",
        "db\u0000",
        42,
        null,
        undefined,
        ["main"],
      ];
      for (const value of refused) assert.equal(parse(value), undefined, JSON.stringify(value));
    });
  }

  test("NAME_RULE describes the limit the parsers enforce", () => {
    assert.match(NAME_RULE, /63 characters/);
    assert.equal(parseDatabaseName("a".repeat(63)), "a".repeat(63));
    assert.equal(parseDatabaseName("a".repeat(64)), undefined);
  });
});
