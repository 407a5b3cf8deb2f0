import assert from "node:assert/strict";
import { test } from "node:test";
import { DbwardError } from "./errors.ts";
import {
  decodeColumnsHeader,
  encodeColumnsHeader,
  MAX_COLUMNS_HEADER_CHARS,
} from "./result-columns-header.ts";

const refused = (value: string): void =>
  assert.throws(
    () => decodeColumnsHeader(value),
    (err: unknown) => err instanceof DbwardError && err.code === "request.invalid",
    value.slice(0, 40),
  );

test("column names travel whole: any text, in ASCII", () => {
  const names = ["id", "naïve name", "a,b", 'quote"d', "", "emoji 🙂", "\u202eevil"];
  const value = encodeColumnsHeader(names) ?? assert.fail("fits");
  assert.match(value, /^[A-Za-z0-9_-]+$/);
  assert.deepEqual(decodeColumnsHeader(value), names);
});

test("names too wide for a header are not sent", () => {
  const wide = Array.from({ length: 400 }, (_, i) => `column_with_a_long_name_${i}`);
  assert.equal(encodeColumnsHeader(wide), undefined);
});

test("anything but the base64url of a JSON array of short strings is refused", () => {
  const b64 = (text: string): string => Buffer.from(text, "utf8").toString("base64url");
  refused("not base64!");
  refused(b64('{"a":1}'));
  refused(b64("[1,2]"));
  refused(b64('["a",null]'));
  refused(b64("[not json"));
  refused(b64(JSON.stringify(["x".repeat(1025)])));
  refused(Buffer.from([0x5b, 0x22, 0xff, 0x22, 0x5d]).toString("base64url")); // invalid UTF-8
  refused("A".repeat(MAX_COLUMNS_HEADER_CHARS + 1));
});
