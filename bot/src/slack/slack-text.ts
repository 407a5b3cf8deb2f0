/**
 * Text in and out of Slack. Slack rewrites what people type into a slash command: it escapes
 * `&`, `<` and `>` as entities, turns e-mail addresses and URLs into `<mailto:…|…>` and
 * `<https://…|…>` links, and the typist's OS may have swapped straight quotes for curly ones.
 * The SQL that is hashed and approved must be the SQL the person meant, so all of that is undone
 * here, before the SQL reaches a use case; the requester is then shown the result to confirm.
 */

/** SQL from slash-command text: links, entities, curly quotes, no-break spaces and fences undone. */
export function sqlFromCommandText(text: string): string {
  return sqlFromInput(decodeEntities(unlink(text)));
}

/**
 * SQL from a modal's plain-text box. Slack does not escape these, so only what the typist's
 * keyboard or a paste from chat adds is undone: curly quotes, no-break spaces, code fences.
 */
export function sqlFromInput(text: string): string {
  return stripFences(
    straightenQuotes(text)
      .replace(/\u00a0/g, " ")
      .trim(),
  );
}

/** `<mailto:a@b.c|a@b.c>` → `a@b.c`; `<https://x.y|x.y>` → `x.y`; `<https://x.y>` → `https://x.y`. */
export function unlink(text: string): string {
  return text
    .replace(/<([a-z][a-z0-9+.-]*:[^|<>]*)\|([^<>]*)>/gi, (_m, _url: string, label: string) => label)
    .replace(/<([a-z][a-z0-9+.-]*:[^|<>]*)>/gi, (_m, url: string) => url.replace(/^mailto:/i, ""));
}

/** Slack escapes exactly these three (one pass, so `&amp;lt;` becomes `&lt;`, not `<`). */
export function decodeEntities(text: string): string {
  return text.replace(/&(lt|gt|amp);/g, (_m, name: string) =>
    name === "lt" ? "<" : name === "gt" ? ">" : "&",
  );
}

export function straightenQuotes(text: string): string {
  return text.replace(/[\u2018\u2019\u201b]/g, "'").replace(/[\u201c\u201d\u201f]/g, '"');
}

const FENCE_LANGUAGES = /^(sql|pgsql|postgres|postgresql|mysql|mariadb|sqlite)\s*\n/i;

/** Removes one code fence (```sql … ```) or one pair of inline backticks around the whole text. */
export function stripFences(text: string): string {
  const t = text.trim();
  if (t.length >= 6 && t.startsWith("```") && t.endsWith("```")) {
    return t.slice(3, -3).replace(FENCE_LANGUAGES, "").trim();
  }
  if (/^`[^`]+`$/.test(t)) return t.slice(1, -1).trim();
  return t;
}

/** Escapes text for a mrkdwn field: Slack reads `&`, `<` and `>` as markup. */
export function escapeMrkdwn(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

/** Cuts text to at most `max` characters, marking the cut. */
export function truncate(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, Math.max(0, max - 1))}…`;
}

/** Splits text into pieces of at most `size` characters, preferring to cut at a line break. */
export function chunk(text: string, size: number): string[] {
  const pieces: string[] = [];
  let rest = text;
  while (rest.length > size) {
    const newline = rest.lastIndexOf("\n", size);
    const cut = newline > size / 2 ? newline + 1 : size;
    pieces.push(rest.slice(0, cut));
    rest = rest.slice(cut);
  }
  if (rest.length > 0 || pieces.length === 0) pieces.push(rest);
  return pieces;
}

/**
 * A leading quoted reason on the one-line query form: `"fix order 7" UPDATE …`. No SQL statement
 * starts with a string literal or a quoted identifier, so a leading quote is never SQL.
 */
export function splitLeadingQuote(text: string): { quoted: string; rest: string } | undefined {
  const m = /^\s*["\u201c\u201d]([^"\u201c\u201d]*)["\u201c\u201d]\s*([\s\S]*)$/.exec(text);
  if (m?.[1] === undefined || m[2] === undefined) return undefined;
  return { quoted: m[1].trim(), rest: m[2] };
}
