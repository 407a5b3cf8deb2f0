import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { base64url, bytesToHex, fromBase64url, hexToBytes, sha256Hex } from "./encoding.ts";

const utf8 = (text: string): Uint8Array => new TextEncoder().encode(text);
const counting = (length: number): Uint8Array => Uint8Array.from({ length }, (_, i) => (i * 37 + 11) % 256);

describe("base64url (RFC 4648 §5, unpadded)", () => {
  test("matches the RFC 4648 §10 test vectors without padding", () => {
    const vectors: ReadonlyArray<readonly [string, string]> = [
      ["", ""],
      ["f", "Zg"],
      ["fo", "Zm8"],
      ["foo", "Zm9v"],
      ["foob", "Zm9vYg"],
      ["fooba", "Zm9vYmE"],
      ["foobar", "Zm9vYmFy"],
    ];
    for (const [text, encoded] of vectors) {
      assert.equal(base64url(utf8(text)), encoded);
      assert.deepEqual(fromBase64url(encoded), utf8(text));
    }
  });

  test("uses '-' and '_' where standard base64 uses '+' and '/'", () => {
    assert.equal(base64url(new Uint8Array([0xfb, 0xff, 0xbf])), "-_-_");
    assert.deepEqual(fromBase64url("-_-_"), new Uint8Array([0xfb, 0xff, 0xbf]));
  });

  test("round-trips every length from 0 to 70 bytes", () => {
    for (let length = 0; length <= 70; length++) {
      const bytes = counting(length);
      const text = base64url(bytes);
      assert.match(text, /^[A-Za-z0-9_-]*$/);
      assert.deepEqual(fromBase64url(text), bytes);
    }
  });

  test("encodes only the bytes of a subarray view, not its whole buffer", () => {
    const whole = utf8("xxfooxx");
    assert.equal(base64url(whole.subarray(2, 5)), "Zm9v");
  });

  test("decodes to a plain Uint8Array", () => {
    const bytes = fromBase64url("Zm9v");
    assert.ok(bytes instanceof Uint8Array);
    assert.equal(Buffer.isBuffer(bytes), false);
  });
});

describe("fromBase64url is strict: one string per byte sequence", () => {
  test("refuses padding", () => {
    for (const text of ["Zg==", "Zm8=", "Zg=", "Zm9v====", "="])
      assert.equal(fromBase64url(text), undefined, text);
  });

  test("refuses non-canonical trailing bits", () => {
    // "Zg" is canonical for "f"; "Zh".."Zv" carry non-zero bits past the last byte and must not alias it.
    for (const text of ["Zh", "Zi", "Zv", "Zm9", "Zm-", "Zm9vYh"])
      assert.equal(fromBase64url(text), undefined, text);
    assert.deepEqual(fromBase64url("Zg"), utf8("f"));
    assert.deepEqual(fromBase64url("Zm8"), utf8("fo"));
  });

  test("refuses a length that no byte sequence encodes to", () => {
    for (const text of ["Z", "Zm9vY", "Zm9vYmFyZ"]) assert.equal(fromBase64url(text), undefined, text);
  });

  test("refuses characters outside the URL-safe alphabet", () => {
    for (const text of [
      "Zm9v+",
      "Zm9/",
      "+/+/",
      " Zm9v",
      "Zm9v ",
      "Zm 9v",
      "Zm9v\n",
      "Zm9v.",
      "Zm9vé",
      "Zm9v\u0000",
    ]) {
      assert.equal(fromBase64url(text), undefined, JSON.stringify(text));
    }
  });

  test("decodes the empty string to no bytes", () => {
    assert.deepEqual(fromBase64url(""), new Uint8Array(0));
  });
});

describe("hex", () => {
  test("round-trips every byte value, writing lower case", () => {
    const bytes = Uint8Array.from({ length: 256 }, (_, i) => i);
    const hex = bytesToHex(bytes);
    assert.equal(hex.length, 512);
    assert.match(hex, /^[0-9a-f]+$/);
    assert.ok(hex.startsWith("000102") && hex.endsWith("fdfeff"));
    assert.deepEqual(hexToBytes(hex), bytes);
  });

  test("reads upper-case hex", () => {
    assert.deepEqual(hexToBytes("DEADbeef"), new Uint8Array([0xde, 0xad, 0xbe, 0xef]));
  });

  test("decodes the empty string to no bytes", () => {
    assert.deepEqual(hexToBytes(""), new Uint8Array(0));
  });

  test("refuses odd lengths, non-hex characters, prefixes and whitespace", () => {
    for (const text of ["0", "abc", "0g", "zz", "0x00", " 00", "00 ", "00\n", "-1"]) {
      assert.equal(hexToBytes(text), undefined, JSON.stringify(text));
    }
  });
});

describe("sha256Hex", () => {
  test("matches the FIPS 180-2 test vectors", () => {
    assert.equal(sha256Hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    assert.equal(sha256Hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  });

  test("hashes a string as its UTF-8 bytes", () => {
    assert.equal(sha256Hex("é"), sha256Hex(new Uint8Array([0xc3, 0xa9])));
    assert.equal(sha256Hex("abc"), sha256Hex(utf8("abc")));
  });

  test("changes when one byte of the input changes", () => {
    assert.notEqual(sha256Hex("SELECT 1"), sha256Hex("SELECT 2"));
    assert.notEqual(sha256Hex("SELECT 1"), sha256Hex("SELECT 1 "));
  });
});
