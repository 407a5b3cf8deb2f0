/**
 * Canonical JSON: the one encoding dbward hashes and signs (tokens, audit events, checkpoints).
 *
 * Contract: object keys sorted by UTF-16 code unit order, no insignificant whitespace, strings
 * and numbers encoded as `JSON.stringify` encodes them (RFC 8785 compatible for the values we
 * use). `undefined`, functions, symbols, bigints and non-finite numbers are refused rather than
 * silently dropped, because a value that vanishes from a hash input is a value an attacker can
 * change without breaking the hash. For the same reason only plain objects (and arrays, and
 * `Date` as its ISO string) are encoded: a `Map`, `Set`, typed array, `Error` or other class
 * instance, an object with symbol keys, or an array with holes is refused instead of becoming
 * `{}`, an index-keyed object, or invalid JSON.
 */
export function canonicalJson(value: unknown): string {
  return encode(value, "$");
}

/** The canonical encoding as UTF-8 bytes. */
export function canonicalBytes(value: unknown): Uint8Array {
  return new TextEncoder().encode(canonicalJson(value));
}

function encode(value: unknown, path: string): string {
  if (value === null) return "null";
  switch (typeof value) {
    case "boolean":
      return value ? "true" : "false";
    case "string":
      return JSON.stringify(value);
    case "number":
      if (!Number.isFinite(value)) throw new TypeError(`canonicalJson: non-finite number at ${path}`);
      return JSON.stringify(value);
    case "object": {
      // Array.from visits holes as undefined, which is refused; `map` would skip them.
      if (Array.isArray(value))
        return `[${Array.from(value, (v, i) => encode(v, `${path}[${i}]`)).join(",")}]`;
      if (value instanceof Date) return JSON.stringify(value.toISOString());
      if (!isPlainObject(value))
        throw new TypeError(`canonicalJson: cannot encode a non-plain object at ${path}`);
      const entries = Object.keys(value)
        .sort()
        .map((k) => {
          const v = (value as Record<string, unknown>)[k];
          if (v === undefined) throw new TypeError(`canonicalJson: undefined at ${path}.${k}`);
          return `${JSON.stringify(k)}:${encode(v, `${path}.${k}`)}`;
        });
      return `{${entries.join(",")}}`;
    }
    default:
      throw new TypeError(`canonicalJson: cannot encode ${typeof value} at ${path}`);
  }
}

function isPlainObject(value: object): boolean {
  const proto: unknown = Object.getPrototypeOf(value);
  return (proto === Object.prototype || proto === null) && Object.getOwnPropertySymbols(value).length === 0;
}
