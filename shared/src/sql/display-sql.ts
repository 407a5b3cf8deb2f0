/**
 * SQL as people are shown it: every character of `invisible-characters.ts` written as a visible
 * escape, everything else untouched. Every surface that shows SQL (Slack, CLI, MCP, webhooks)
 * goes through here; what is stored, hashed, signed and run is never the escaped form.
 */
import { codePointLabel, INVISIBLE_CHARACTER } from "./invisible-characters.ts";

const escapeOf = (c: string): string => `⟨${codePointLabel(c.codePointAt(0) ?? 0)}⟩`;

/**
 * `sql` with each invisible character replaced by `⟨U+XXXX⟩` (`SELECT 1 ⟨U+202E⟩…`). A text
 * without such characters comes back as it is. The escape is for reading only: never send it
 * back as SQL.
 */
export function displaySql(sql: string): string {
  return sql.replace(INVISIBLE_CHARACTER, escapeOf);
}

const jsonEscapeOf = (c: string): string =>
  Array.from({ length: c.length }, (_, i) => `\\u${c.charCodeAt(i).toString(16).padStart(4, "0")}`).join("");

/**
 * `JSON.stringify(value)` with each invisible character inside a string written as a `\uXXXX`
 * escape (RFC 8259 §7), so a terminal or a log viewer shows it while a JSON parser still reads
 * back exactly the original text. JSON text has such characters only inside strings.
 */
export function visibleJson(value: object, space?: number): string {
  return JSON.stringify(value, null, space).replace(INVISIBLE_CHARACTER, jsonEscapeOf);
}
