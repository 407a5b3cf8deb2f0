/**
 * Rewrites of a statement's parser text for syntax MySQL and MariaDB accept and node-sql-parser
 * does not, each recognised by a strict token grammar and each unable to hide a call: what is
 * blanked is keywords and names, never an expression.
 *
 * - `introducer`: `_utf8mb4'x'` → `'x'` (a character set name, blanked);
 * - `select_modifier`: SQL_NO_CACHE, STRAIGHT_JOIN, HIGH_PRIORITY, … after SELECT, blanked;
 *   DISTINCTROW → DISTINCT;
 * - `index_hint`: `USE|FORCE|IGNORE INDEX|KEY [FOR JOIN|ORDER BY|GROUP BY] (names)`, blanked;
 * - `sequence_value`: `PREVIOUS VALUE FOR s` → `lastval(s)`, `NEXT VALUE FOR s` → `nextval(s)`
 *   (MariaDB's own equivalents), so the allowlist judges them as calls;
 * - `json_table`: `JSON_TABLE(expr, 'path' COLUMNS (…))` → `(SELECT expr)`, when every column
 *   definition is a plain typed path, ordinality or nested path with literal defaults;
 * - `explain_options`: FORMAT=…, EXTENDED, PARTITIONS after EXPLAIN, blanked.
 *
 * Offsets outside a rewrite are unchanged; inside one they may move by a few characters.
 */
import type { LexToken } from "./sql-lexer.ts";
import { TokenCursor } from "./mysql-token-cursor.ts";

export const REWRITE_KINDS = [
  "introducer",
  "select_modifier",
  "index_hint",
  "sequence_value",
  "json_table",
  "explain_options",
] as const;
export type RewriteKind = (typeof REWRITE_KINDS)[number];

export interface ParserText {
  readonly text: string;
  readonly rewrites: readonly RewriteKind[];
}

/** Character sets an introducer may name (MySQL 8 and MariaDB 10.11 `SHOW CHARACTER SET`). */
const CHARSETS = new Set(
  "armscii8 ascii big5 binary cp1250 cp1251 cp1256 cp1257 cp850 cp852 cp866 cp932 dec8 eucjpms euckr gb18030 gb2312 gbk geostd8 greek hebrew hp8 keybcs2 koi8r koi8u latin1 latin2 latin5 latin7 macce macroman sjis swe7 tis620 ucs2 ujis utf16 utf16le utf32 utf8 utf8mb3 utf8mb4".split(
    " ",
  ),
);
const SELECT_MODIFIERS = new Set([
  "sql_no_cache",
  "sql_cache",
  "straight_join",
  "high_priority",
  "sql_small_result",
  "sql_big_result",
  "sql_buffer_result",
  "sql_calc_found_rows",
]);
/** JSON_TABLE column types (MySQL 8 §14.17.6, MariaDB "JSON_TABLE"). */
const COLUMN_TYPES = new Set(
  "bigint binary bit blob bool boolean char date datetime dec decimal double float int integer json longblob longtext mediumblob mediumint mediumtext numeric real smallint text time timestamp tinyblob tinyint tinytext varbinary varchar year".split(
    " ",
  ),
);

/** The parser text between two offsets of the whole text. */
type Source = (from: number, to: number) => string;

interface Edit {
  readonly start: number;
  readonly end: number;
  readonly text: string;
  readonly kind: RewriteKind;
}

/** `parserText` (comments blanked, starting at `statementStart`) with the rewrites applied. */
export function rewriteParserText(
  sql: string,
  tokens: readonly LexToken[],
  statementStart: number,
  parserText: string,
): ParserText {
  const c = new TokenCursor(sql, tokens);
  const source: Source = (from, to) => parserText.slice(from - statementStart, to - statementStart);
  const edits: Edit[] = [];
  const first = c.peek();
  const explains = first === "explain" || first === "describe";
  const head = c.token;
  if (first === "describe" && head !== undefined) {
    edits.push({ start: head.start, end: head.end, text: "EXPLAIN ", kind: "explain_options" });
  }
  for (c.index = 0; c.index < c.length;) {
    const before = c.index;
    const edit =
      introducer(c) ??
      selectModifier(c) ??
      indexHint(c) ??
      sequenceValue(c, source) ??
      jsonTable(c, source) ??
      (explains && before === 1 ? explainOptions(c) : undefined);
    if (edit !== undefined) edits.push(edit);
    if (c.index === before) c.index += 1;
  }
  if (edits.length === 0) return { text: parserText, rewrites: [] };
  let text = parserText;
  for (const edit of [...edits].sort((a, b) => b.start - a.start)) {
    const from = edit.start - statementStart;
    const to = edit.end - statementStart;
    text = text.slice(0, from) + edit.text + text.slice(to);
  }
  return { text, rewrites: [...new Set(edits.map((e) => e.kind))] };
}

function blank(start: number, end: number, kind: RewriteKind, keep = ""): Edit {
  return { start, end, text: keep.padEnd(end - start, " "), kind };
}

function introducer(c: TokenCursor): Edit | undefined {
  const token = c.token;
  if (token === undefined) return undefined;
  const raw = c.sql.slice(token.start, token.end);
  const quote = raw.indexOf("'");
  if (token.kind === "string" && raw.startsWith("_") && quote > 1) {
    if (!CHARSETS.has(raw.slice(1, quote).toLowerCase())) return undefined;
    c.index += 1;
    return blank(token.start, token.start + quote, "introducer");
  }
  const next = c.at(1);
  if (
    token.kind === "word" &&
    raw.startsWith("_") &&
    next?.kind === "string" &&
    CHARSETS.has(raw.slice(1).toLowerCase())
  ) {
    if (c.sql[next.start] !== "'") return undefined;
    c.index += 1;
    return blank(token.start, token.end, "introducer");
  }
  return undefined;
}

function selectModifier(c: TokenCursor): Edit | undefined {
  if (c.peek() !== "select") return undefined;
  const start = c.at(1)?.start;
  c.index += 1;
  let end: number | undefined;
  const parts: Edit[] = [];
  for (;;) {
    const w = c.peek();
    const token = c.token;
    if (token === undefined || token.kind !== "word") break;
    if (SELECT_MODIFIERS.has(w)) parts.push(blank(token.start, token.end, "select_modifier"));
    else if (w === "distinctrow") parts.push(blank(token.start, token.end, "select_modifier", "DISTINCT"));
    else if (w !== "all" && w !== "distinct") break;
    end = token.end;
    c.index += 1;
  }
  if (parts.length === 0 || start === undefined || end === undefined) return undefined;
  // One edit for the run of modifiers: keep ALL/DISTINCT words as they were.
  let text = c.sql.slice(start, end);
  for (const part of parts) {
    text = text.slice(0, part.start - start) + part.text + text.slice(part.end - start);
  }
  return { start, end, text, kind: "select_modifier" };
}

function indexHint(c: TokenCursor): Edit | undefined {
  const start = c.token?.start;
  const at = c.index;
  if (c.oneOf(["use", "force", "ignore"]) === undefined || c.oneOf(["index", "key"]) === undefined) {
    c.index = at;
    return undefined;
  }
  if (c.word("for")) {
    if (!c.word("join") && !c.word("order", "by") && !c.word("group", "by")) return reset(c, at);
  }
  if (!c.word("(")) return reset(c, at);
  if (!c.word(")")) {
    do {
      if (!c.ident()) return reset(c, at);
    } while (c.word(","));
    if (!c.word(")")) return reset(c, at);
  }
  const end = c.at(-1)?.end;
  return start === undefined || end === undefined ? reset(c, at) : blank(start, end, "index_hint");
}

function sequenceValue(c: TokenCursor, source: Source): Edit | undefined {
  const at = c.index;
  const start = c.token?.start;
  const which = c.oneOf(["previous", "next"]);
  if (which === undefined || !c.word("value", "for")) return reset(c, at);
  const nameStart = c.token?.start;
  if (!c.qualifiedName()) return reset(c, at);
  const end = c.at(-1)?.end;
  if (start === undefined || nameStart === undefined || end === undefined) return reset(c, at);
  const call = `${which === "next" ? "nextval" : "lastval"}(${source(nameStart, end)})`;
  return { start, end, text: call.padEnd(end - start, " "), kind: "sequence_value" };
}

function jsonTable(c: TokenCursor, source: Source): Edit | undefined {
  const at = c.index;
  const start = c.token?.start;
  if (!c.word("json_table")) return undefined;
  const open = c.token;
  const close = c.closingParen();
  if (start === undefined || open === undefined || close === undefined) return reset(c, at);
  c.index += 1;
  // The document expression runs to the first comma at depth 0.
  let depth = 0;
  let comma: number | undefined;
  for (let i = c.index; i < close; i += 1) {
    const t = c.tokenAt(i);
    const ch = t === undefined ? "" : c.sql[t.start];
    if (t?.kind === "operator" && ch === "(") depth += 1;
    if (t?.kind === "operator" && ch === ")") depth -= 1;
    if (t?.kind === "operator" && ch === "," && depth === 0) {
      comma = i;
      break;
    }
  }
  const commaToken = comma === undefined ? undefined : c.tokenAt(comma);
  if (comma === undefined || commaToken === undefined || comma === c.index) return reset(c, at);
  const expression = source(open.end, commaToken.start);
  c.index = comma + 1;
  if (!c.kind("string") || !columns(c) || c.index !== close) return reset(c, at);
  const end = c.tokenAt(close)?.end;
  c.index = close + 1;
  if (end === undefined) return reset(c, at);
  const text = `(SELECT ${expression})`;
  return text.length > end - start
    ? reset(c, at)
    : { start, end, text: text.padEnd(end - start, " "), kind: "json_table" };
}

/** `COLUMNS (definition, …)` of JSON_TABLE. */
function columns(c: TokenCursor): boolean {
  if (!c.word("columns", "(")) return false;
  do {
    if (!columnDefinition(c)) return false;
  } while (c.word(","));
  return c.word(")");
}

function columnDefinition(c: TokenCursor): boolean {
  if (c.word("nested")) {
    c.word("path");
    return c.kind("string") && columns(c);
  }
  if (!c.ident()) return false;
  if (c.word("for", "ordinality")) return true;
  if (c.oneOf([...COLUMN_TYPES]) === undefined) return false;
  if (c.word("(")) {
    if (!c.kind("number")) return false;
    if (c.word(",") && !c.kind("number")) return false;
    if (!c.word(")")) return false;
  }
  c.word("unsigned");
  if (c.word("character", "set") || c.word("charset")) {
    if (!c.ident()) return false;
  }
  if (c.word("collate") && !c.ident()) return false;
  c.word("exists");
  if (!c.word("path") || !c.kind("string")) return false;
  for (let i = 0; i < 2; i += 1) {
    const at = c.index;
    const behaviour =
      c.word("null") || c.word("error") || (c.word("default") && (c.kind("string") || c.kind("number")));
    if (!behaviour) {
      c.index = at;
      break;
    }
    if (!c.word("on") || c.oneOf(["empty", "error"]) === undefined) return false;
  }
  return true;
}

function explainOptions(c: TokenCursor): Edit | undefined {
  const start = c.token?.start;
  const at = c.index;
  if (c.word("format", "=")) {
    if (c.oneOf(["json", "traditional", "tree"]) === undefined) return reset(c, at);
  } else if (c.oneOf(["extended", "partitions"]) === undefined) {
    return undefined;
  }
  const end = c.at(-1)?.end;
  return start === undefined || end === undefined ? reset(c, at) : blank(start, end, "explain_options");
}

function reset(c: TokenCursor, index: number): undefined {
  c.index = index;
  return undefined;
}
