/**
 * Bytes in are bytes stored: a body that is not valid UTF-8 is refused before anything decodes
 * it, because decoding would silently turn the bad bytes into U+FFFD and the approver would read
 * a text the client never sent. JSON must be UTF-8 between systems (RFC 8259 §8.1); Slack's
 * form bodies carry their bytes percent-encoded, so those are checked after percent-decoding.
 */
import { isUtf8 } from "node:buffer";
import type { IncomingMessage } from "node:http";
import { DbwardError } from "@dbward/shared";

export const NOT_UTF8_MESSAGE = "the body is not valid UTF-8";

/**
 * body-parser's `verify` hook for JSON bodies: runs on the raw bytes, before they are decoded.
 * A declared charset other than UTF-8 (body-parser would decode UTF-16 or UTF-32) is refused too.
 */
export function verifyUtf8Json(_req: IncomingMessage, _res: unknown, body: Buffer, encoding: string): void {
  if (encoding.toLowerCase() !== "utf-8" || !isUtf8(body)) {
    throw new DbwardError("request.invalid", NOT_UTF8_MESSAGE);
  }
}

/**
 * Whether a Slack body holds only UTF-8: an `application/x-www-form-urlencoded` body (slash
 * commands, `payload=<JSON>` interactions) once its `%XX` escapes are decoded, anything else
 * (Events API JSON) as it is. Decoding the whole form at once is the same as decoding each name
 * and value: the `&` and `=` between them are ASCII, so a sequence cut by one is still invalid.
 */
export function isUtf8SlackBody(raw: Buffer, contentType: string | undefined): boolean {
  const form = /^application\/x-www-form-urlencoded\b/i.test(contentType ?? "");
  return isUtf8(form ? percentDecoded(raw) : raw);
}

/** `%XX` escapes replaced by their byte (WHATWG URL, percent-decode); other bytes kept. */
function percentDecoded(raw: Buffer): Buffer {
  const out = Buffer.allocUnsafe(raw.length);
  let n = 0;
  for (let i = 0; i < raw.length; i++) {
    const byte = raw.readUInt8(i);
    const hex = byte === 0x25 && i + 2 < raw.length ? raw.toString("latin1", i + 1, i + 3) : "";
    if (/^[0-9a-f]{2}$/i.test(hex)) {
      out.writeUInt8(Number.parseInt(hex, 16), n++);
      i += 2;
    } else {
      out.writeUInt8(byte, n++);
    }
  }
  return out.subarray(0, n);
}
