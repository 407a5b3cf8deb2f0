/**
 * The column names of a result, sent by the agent beside its chunk 0 (shared protocol: result
 * chunks), so that a reader following the result can write its header line before the last
 * chunk is in. A header rather than the body: a chunk's bytes stay the rows the caps count.
 *
 * The value is the JSON array of names in base64url: names are any text, a header is ASCII.
 * Names that do not fit in MAX_COLUMNS_HEADER_CHARS are not sent (a very wide result); a reader
 * following such a result gets it once it is stored.
 */
import { DbwardError } from "./errors.ts";

export const RESULT_COLUMNS_HEADER = "x-dbward-columns";

/** Well under Node's 16 KiB for all of a request's headers. */
export const MAX_COLUMNS_HEADER_CHARS = 8192;

/** More columns than either engine returns (PostgreSQL 1,664; MySQL 4,096). */
const MAX_COLUMNS = 4096;
const MAX_NAME_CHARS = 1024;

/** The header's value, or undefined when the names do not fit in one. */
export function encodeColumnsHeader(names: readonly string[]): string | undefined {
  const value = Buffer.from(JSON.stringify(names), "utf8").toString("base64url");
  return value.length <= MAX_COLUMNS_HEADER_CHARS ? value : undefined;
}

/** The names a header carries; refused (`request.invalid`) unless it is exactly what the agent sends. */
export function decodeColumnsHeader(value: string): string[] {
  const invalid = (why: string): DbwardError =>
    new DbwardError("request.invalid", `the ${RESULT_COLUMNS_HEADER} header ${why}`);
  if (value.length > MAX_COLUMNS_HEADER_CHARS)
    throw invalid(`is over ${MAX_COLUMNS_HEADER_CHARS} characters`);
  if (!/^[A-Za-z0-9_-]*$/.test(value)) throw invalid("is not base64url");
  const text = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
  let names: unknown;
  try {
    names = JSON.parse(text.decode(Buffer.from(value, "base64url")));
  } catch {
    throw invalid("is not the base64url of a JSON array in UTF-8");
  }
  if (
    !Array.isArray(names) ||
    names.length > MAX_COLUMNS ||
    !names.every((n): n is string => typeof n === "string" && n.length <= MAX_NAME_CHARS)
  ) {
    throw invalid(`must be an array of at most ${MAX_COLUMNS} names of at most ${MAX_NAME_CHARS} characters`);
  }
  return names;
}
