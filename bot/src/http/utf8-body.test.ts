import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { DbwardError } from "@dbward/shared";
import { isUtf8SlackBody, verifyUtf8Json } from "./utf8-body.ts";

const FORM = "application/x-www-form-urlencoded";
const form = (s: string): Buffer => Buffer.from(s, "latin1");

describe("UTF-8 bodies", () => {
  test("accepts a form whose percent-encoded bytes are UTF-8, literal % and + included", () => {
    assert.equal(isUtf8SlackBody(form("text=%E5%B1%B1%F0%9F%90%98+%25ff%25&a=100%"), FORM), true);
    assert.equal(isUtf8SlackBody(form("text=%zz%4"), `${FORM}; charset=utf-8`), true);
  });

  test("refuses a form whose percent-encoded bytes are not UTF-8", () => {
    for (const bad of ["text=%FF", "text=%C3%28", "text=%E2%82&b=%AC", "payload=%ED%A0%80", "a=%c0%af"]) {
      assert.equal(isUtf8SlackBody(form(bad), FORM), false, bad);
    }
  });

  test("checks any other body as raw bytes, and does not percent-decode JSON", () => {
    assert.equal(isUtf8SlackBody(Buffer.from('{"sql":"LIKE \'%FF%\'"}'), "application/json"), true);
    assert.equal(isUtf8SlackBody(Buffer.from([0x7b, 0xff, 0x7d]), "application/json"), false);
    assert.equal(isUtf8SlackBody(Buffer.from([0x61, 0xff]), undefined), false);
  });

  test("the JSON verify hook refuses invalid bytes and other charsets with request.invalid", () => {
    const refuse = (body: Buffer, charset: string) => () => verifyUtf8Json({} as never, {}, body, charset);
    assert.doesNotThrow(refuse(Buffer.from('{"a":"日本 👍🏽"}'), "utf-8"));
    for (const [body, charset] of [
      [Buffer.from([0x22, 0xff, 0x22]), "utf-8"],
      [Buffer.from('"a"', "utf16le"), "utf-16le"],
    ] as const) {
      assert.throws(
        refuse(body, charset),
        (e: unknown) =>
          e instanceof DbwardError && e.code === "request.invalid" && /not valid UTF-8/.test(e.message),
      );
    }
  });
});
