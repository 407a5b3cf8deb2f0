/**
 * A strict JSON (RFC 8259) checker over UTF-8 bytes, for result chunks. It accepts exactly the
 * text `JSON.parse` accepts, but builds nothing: checking a million rows this way costs a byte
 * scan, where `JSON.parse` per line paid for decoding the chunk into a string, splitting it, and
 * making every value only to drop it. The bytes are assumed to be valid UTF-8 (checked first,
 * with `isUtf8`), so any byte from 0x80 up is part of a character and only legal inside strings.
 *
 * `\n` is not whitespace here: in NDJSON it ends the line, so a value never spans one.
 */

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const COLON = 0x3a;
const OPEN_ARRAY = 0x5b;
const CLOSE_ARRAY = 0x5d;
const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;
const MINUS = 0x2d;
const PLUS = 0x2b;
const DOT = 0x2e;
const ZERO = 0x30;
const NINE = 0x39;

/** The containers open around the current value; reused, because the checker never re-enters. */
const open: number[] = [];

/** The index after the spaces, tabs and CRs at `i`. */
export function skipSpace(b: Uint8Array, i: number): number {
  for (;;) {
    const c = b[i];
    if (c !== 0x20 && c !== 0x09 && c !== 0x0d) return i;
    i += 1;
  }
}

/** The index just after the JSON value that starts at `i`, or -1 when there is none. */
export function skipValue(b: Uint8Array, i: number): number {
  let depth = 0;
  for (;;) {
    i = skipSpace(b, i);
    const c = b[i];
    if (c === OPEN_ARRAY || c === OPEN_OBJECT) {
      const close = c === OPEN_ARRAY ? CLOSE_ARRAY : CLOSE_OBJECT;
      i = skipSpace(b, i + 1);
      if (b[i] === close) {
        i += 1;
      } else {
        open[depth] = close;
        depth += 1;
        if (close === CLOSE_OBJECT && (i = skipKey(b, i)) < 0) return -1;
        continue;
      }
    } else {
      i = c === QUOTE ? skipString(b, i) : c === MINUS || isDigit(c) ? skipNumber(b, i) : skipLiteral(b, i);
      if (i < 0) return -1;
    }
    // A value ended: close what it ends, or go on to the next member.
    for (;;) {
      if (depth === 0) return i;
      i = skipSpace(b, i);
      const d = b[i];
      const close = open[depth - 1];
      if (d === close) {
        depth -= 1;
        i += 1;
      } else if (d === COMMA) {
        i += 1;
        if (close === CLOSE_OBJECT && (i = skipKey(b, i)) < 0) return -1;
        break;
      } else {
        return -1;
      }
    }
  }
}

/** A member name and its colon; the index of the value after them, or -1. */
function skipKey(b: Uint8Array, i: number): number {
  i = skipSpace(b, i);
  if (b[i] !== QUOTE) return -1;
  i = skipString(b, i);
  if (i < 0) return -1;
  i = skipSpace(b, i);
  return b[i] === COLON ? i + 1 : -1;
}

/** The index after the string whose opening quote is at `i`, or -1. */
export function skipString(b: Uint8Array, i: number): number {
  i += 1;
  for (;;) {
    const c = b[i];
    if (c === QUOTE) return i + 1;
    if (c === BACKSLASH) {
      const e = b[i + 1];
      if (e === 0x75) {
        if (!isHex(b[i + 2]) || !isHex(b[i + 3]) || !isHex(b[i + 4]) || !isHex(b[i + 5])) return -1;
        i += 6;
      } else if (isEscape(e)) {
        i += 2;
      } else {
        return -1;
      }
    } else if (c !== undefined && c >= 0x20) {
      i += 1;
    } else {
      // A control character, or the end of the bytes.
      return -1;
    }
  }
}

/** The index after the number at `i` (`-? int frac? exp?`), or -1. */
export function skipNumber(b: Uint8Array, i: number): number {
  if (b[i] === MINUS) i += 1;
  if (b[i] === ZERO) i += 1;
  else if (isDigit(b[i])) i = skipDigits(b, i);
  else return -1;
  if (b[i] === DOT) {
    if (!isDigit(b[i + 1])) return -1;
    i = skipDigits(b, i + 1);
  }
  const e = b[i];
  if (e === 0x65 || e === 0x45) {
    i += 1;
    if (b[i] === PLUS || b[i] === MINUS) i += 1;
    if (!isDigit(b[i])) return -1;
    i = skipDigits(b, i);
  }
  return i;
}

function skipDigits(b: Uint8Array, i: number): number {
  while (isDigit(b[i])) i += 1;
  return i;
}

const TRUE = [0x74, 0x72, 0x75, 0x65];
const FALSE = [0x66, 0x61, 0x6c, 0x73, 0x65];
const NULL = [0x6e, 0x75, 0x6c, 0x6c];

/** The index after `true`, `false` or `null` at `i`, or -1. */
function skipLiteral(b: Uint8Array, i: number): number {
  const word = b[i] === 0x74 ? TRUE : b[i] === 0x66 ? FALSE : b[i] === 0x6e ? NULL : undefined;
  if (word === undefined) return -1;
  for (let k = 1; k < word.length; k += 1) if (b[i + k] !== word[k]) return -1;
  return i + word.length;
}

function isDigit(c: number | undefined): boolean {
  return c !== undefined && c >= ZERO && c <= NINE;
}

function isHex(c: number | undefined): boolean {
  return (
    c !== undefined && ((c >= ZERO && c <= NINE) || (c >= 0x41 && c <= 0x46) || (c >= 0x61 && c <= 0x66))
  );
}

/** `"`, `\`, `/`, `b`, `f`, `n`, `r`, `t`: the escapes besides `\u`. */
function isEscape(c: number | undefined): boolean {
  return (
    c === QUOTE ||
    c === BACKSLASH ||
    c === 0x2f ||
    c === 0x62 ||
    c === 0x66 ||
    c === 0x6e ||
    c === 0x72 ||
    c === 0x74
  );
}
