/**
 * Database values to JSON-safe values, the same for every driver, so a result survives the trip
 * to the bot unchanged:
 * - bigint (PostgreSQL int8, SQLite integers beyond 2^53) → decimal string;
 * - Date → ISO 8601 string in UTC;
 * - Buffer / Uint8Array (bytea, BLOB, BINARY) → base64 string;
 * - NaN and ±Infinity (float columns) → "NaN", "Infinity", "-Infinity";
 * - null and undefined → null; arrays and JSON objects converted element by element.
 * Drivers already return int8, NUMERIC and DECIMAL as strings, because a JSON number would lose
 * their precision.
 */
export function toJsonValue(value: unknown): unknown {
  if (value === null || value === undefined) return null;
  switch (typeof value) {
    case "bigint":
      return value.toString();
    case "number":
      return Number.isFinite(value) ? value : String(value);
    case "string":
    case "boolean":
      return value;
    case "object":
      return objectToJson(value);
    default:
      return String(value);
  }
}

function objectToJson(value: object): unknown {
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? null : value.toISOString();
  if (value instanceof Uint8Array) {
    return Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString("base64");
  }
  if (Array.isArray(value)) return value.map(toJsonValue);
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[k] = toJsonValue(v);
  return out;
}

/** Converts every cell of a row. */
export function rowToJson(row: readonly unknown[]): unknown[] {
  return row.map(toJsonValue);
}
