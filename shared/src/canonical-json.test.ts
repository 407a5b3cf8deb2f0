import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { canonicalBytes, canonicalJson } from "./canonical-json.ts";

describe("canonicalJson: one encoding for every hash and signature", () => {
  test("sorts object keys at every depth, including inside arrays", () => {
    const value = { b: 1, a: { d: [{ z: 1, y: { q: 2, p: 3 } }], c: null } };
    assert.equal(canonicalJson(value), '{"a":{"c":null,"d":[{"y":{"p":3,"q":2},"z":1}]},"b":1}');
  });

  test("sorts keys by UTF-16 code unit, not numerically, by locale or by code point", () => {
    // Integer-like keys are enumerated numerically by JavaScript; canonical order is textual.
    // "😀" is the surrogate pair \ud83d\ude00, so it sorts before "\uffff" although its code point is higher.
    const value = { "\uffff": 7, "😀": 6, é: 5, a: 3, B: 4, "2": 2, "10": 1 };
    assert.equal(canonicalJson(value), '{"10":1,"2":2,"B":4,"a":3,"é":5,"😀":6,"\uffff":7}');
  });

  test("emits no whitespace outside strings", () => {
    const text = canonicalJson({ list: [1, 2, { x: true }], nested: { s: "a b\tc" }, n: null });
    assert.equal(text, '{"list":[1,2,{"x":true}],"n":null,"nested":{"s":"a b\\tc"}}');
    assert.doesNotMatch(text.replace(/"(?:[^"\\]|\\.)*"/g, '""'), /\s/);
  });

  test("keeps array order", () => {
    assert.equal(canonicalJson([3, 1, 2, "b", "a"]), '[3,1,2,"b","a"]');
    assert.equal(canonicalJson([{ b: 1 }, { a: 1 }]), '[{"b":1},{"a":1}]');
  });

  test("gives the same bytes for objects built in different key orders", () => {
    const first: Record<string, unknown> = {};
    first.sql = "SELECT 1";
    first.db = "main";
    first.meta = { env: "production", approvers: ["bob", "carol"], op: "read" };
    const second: Record<string, unknown> = {};
    second.meta = { op: "read", approvers: ["bob", "carol"], env: "production" };
    second.db = "main";
    second.sql = "SELECT 1";
    assert.notDeepEqual(Object.keys(first), Object.keys(second));
    assert.deepEqual(canonicalBytes(first), canonicalBytes(second));
    assert.equal(canonicalJson(first), canonicalJson(second));
  });

  test("writes non-ASCII strings as UTF-8 characters and round-trips them", () => {
    const value = { 名前: "データベース", emoji: "😀", accent: "é" };
    const text = canonicalJson(value);
    assert.equal(text, '{"accent":"é","emoji":"😀","名前":"データベース"}');
    assert.deepEqual(JSON.parse(text), value);
    assert.deepEqual(canonicalBytes(value), new TextEncoder().encode(text));
  });

  test("escapes control characters, quotes and backslashes as JSON requires", () => {
    assert.equal(canonicalJson('\u0000\n"\\\u001f'), '"\\u0000\\n\\"\\\\\\u001f"');
  });

  test("escapes a lone surrogate so it cannot collide with U+FFFD in the UTF-8 bytes", () => {
    assert.equal(canonicalJson("\ud800"), '"\\ud800"');
    assert.notDeepEqual(canonicalBytes("\ud800"), canonicalBytes("\ufffd"));
  });

  test("encodes numbers as JSON.stringify does, with negative zero as 0", () => {
    assert.equal(
      canonicalJson([0, -0, 1.5, -42, 1e21, 0.1, 9007199254740991]),
      "[0,0,1.5,-42,1e+21,0.1,9007199254740991]",
    );
  });

  test("encodes null, booleans and a Date as its ISO string", () => {
    assert.equal(
      canonicalJson({ t: true, f: false, n: null, d: new Date(Date.UTC(2024, 4, 1, 12)) }),
      '{"d":"2024-05-01T12:00:00.000Z","f":false,"n":null,"t":true}',
    );
  });

  test("accepts an object without a prototype", () => {
    const value = Object.create(null) as Record<string, unknown>;
    value.b = 2;
    value.a = 1;
    assert.equal(canonicalJson(value), '{"a":1,"b":2}');
  });

  test("round-trips through JSON.parse to an equal value", () => {
    const value = { a: [1, "two", { three: [null, false] }], b: { c: -1.25 } };
    assert.deepEqual(JSON.parse(canonicalJson(value)), value);
  });

  test("canonicalBytes is the UTF-8 encoding of canonicalJson", () => {
    const value = { z: "ü", a: [1] };
    assert.deepEqual(canonicalBytes(value), new TextEncoder().encode('{"a":[1],"z":"ü"}'));
  });
});

describe("canonicalJson refuses values that would vanish or change silently", () => {
  const refusals: ReadonlyArray<readonly [string, unknown, RegExp]> = [
    ["undefined at the top level", undefined, /undefined at \$/],
    ["undefined as an object value", { a: { b: undefined } }, /undefined at \$\.a\.b/],
    ["undefined inside an array", [1, undefined], /undefined at \$\[1\]/],
    ["NaN", { n: Number.NaN }, /non-finite number at \$\.n/],
    ["Infinity", [Number.POSITIVE_INFINITY], /non-finite number at \$\[0\]/],
    ["-Infinity", Number.NEGATIVE_INFINITY, /non-finite number at \$/],
    ["a bigint", { big: 10n }, /bigint at \$\.big/],
    ["a function", { f: () => 1 }, /function at \$\.f/],
    ["a symbol", { s: Symbol("s") }, /symbol at \$\.s/],
    // eslint-disable-next-line no-sparse-arrays
    ["an array with a hole", [1, , 3], /undefined at \$\[1\]/],
    ["a Map", { m: new Map([["a", 1]]) }, /non-plain object at \$\.m/],
    ["a Set", new Set([1]), /non-plain object at \$/],
    ["a typed array", { bytes: new Uint8Array([1, 2]) }, /non-plain object at \$\.bytes/],
    ["an Error", { error: new Error("boom") }, /non-plain object at \$\.error/],
    ["a class instance", { x: new (class Point {})() }, /non-plain object at \$\.x/],
    ["an object with a symbol key", { [Symbol("hidden")]: 1 }, /non-plain object at \$/],
  ];
  for (const [name, value, message] of refusals) {
    test(`refuses ${name}`, () => {
      assert.throws(() => canonicalJson(value), { name: "TypeError", message });
      assert.throws(() => canonicalBytes(value), TypeError);
    });
  }

  test("refuses an invalid Date instead of encoding null", () => {
    assert.throws(() => canonicalJson({ d: new Date(Number.NaN) }), RangeError);
  });
});
