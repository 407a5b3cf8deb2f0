import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { displaySql, visibleJson } from "./display-sql.ts";

describe("displaySql", () => {
  test("leaves ordinary SQL exactly as it is, line breaks, tabs and non-Latin text included", () => {
    const sql = "SELECT 'héllo', '日本語', '👍🏽', 'مرحبا'\r\nFROM t\tWHERE a <> 'x'\n";
    assert.equal(displaySql(sql), sql);
  });

  test("escapes the Trojan Source bidirectional controls", () => {
    const sql = "SELECT 1 /*\u202e } \u2066if (admin)\u2069 \u2066 begin*/";
    assert.equal(displaySql(sql), "SELECT 1 /*⟨U+202E⟩ } ⟨U+2066⟩if (admin)⟨U+2069⟩ ⟨U+2066⟩ begin*/");
  });

  const ESCAPED: readonly (readonly [string, string])[] = [
    ["\u202a\u202b\u202c\u202d\u202e", "LRE, RLE, PDF, LRO, RLO"],
    ["\u2066\u2067\u2068\u2069", "LRI, RLI, FSI, PDI"],
    ["\u200b\u200c\u200d\u200e\u200f", "zero-width characters and marks"],
    ["\u2028\u2029", "line and paragraph separators"],
    ["\ufeff\u00ad\u061c\u180e\u034f", "BOM, soft hyphen, ALM, Mongolian vowel separator, CGJ"],
    ["\u2060\u2061\u2062\u2063\u2064", "word joiner and invisible operators"],
    ["\u115f\u1160\u3164\uffa0", "Hangul fillers"],
    ["\ufe00\ufe0f\u{e0100}\u{e01ef}", "variation selectors"],
    ["\u{e0001}\u{e0020}\u{e0041}\u{e007f}", "tag characters"],
    ["\u0600\u06dd\u070f\ufff9\u{13430}", "format characters that are not default-ignorable"],
    ["\u001b\u0007\u0008\u007f\u0085", "control characters"],
    ["\ud800", "an unpaired surrogate"],
  ];
  for (const [chars, what] of ESCAPED) {
    test(`escapes ${what}`, () => {
      const shown = displaySql(`a${chars}b`);
      const escapes = [...chars].map(
        (c) => `⟨U+${c.codePointAt(0)?.toString(16).toUpperCase().padStart(4, "0")}⟩`,
      );
      assert.equal(shown, `a${escapes.join("")}b`);
    });
  }

  test("writes a code point beyond the BMP as one escape, not two surrogates", () => {
    assert.equal(displaySql("x\u{e0041}y"), "x⟨U+E0041⟩y");
  });

  test("escapes a bare carriage return but keeps CRLF line ends", () => {
    assert.equal(displaySql("DROP TABLE t; --\rSELECT 1\r\n"), "DROP TABLE t; --⟨U+000D⟩SELECT 1\r\n");
  });

  test("gives the same answer when called again (no state kept between calls)", () => {
    const sql = "SELECT '\u200b'";
    assert.equal(displaySql(sql), displaySql(sql));
    assert.equal(displaySql(sql), "SELECT '⟨U+200B⟩'");
  });
});

describe("visibleJson", () => {
  test("writes invisible characters as JSON escapes that parse back to the same text", () => {
    const value = { sql: "SELECT '\u202e\u{e0041}\u0085'", n: 1 };
    const json = visibleJson(value);
    assert.equal(json, '{"sql":"SELECT \'\\u202e\\udb40\\udc41\\u0085\'","n":1}');
    assert.deepEqual(JSON.parse(json), value);
  });

  test("is JSON.stringify for a value without them, indentation included", () => {
    const value = { sql: "SELECT '日本'\n", list: [1, "👍"] };
    assert.equal(visibleJson(value, 2), JSON.stringify(value, null, 2));
  });
});
