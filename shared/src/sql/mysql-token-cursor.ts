/**
 * A cursor over a statement's lexer tokens (comments skipped), for the small strict grammars
 * that recognise what node-sql-parser cannot read (`mysql-grammar.ts`, `mysql-parser-text.ts`).
 * Every match is exact: a method either consumes what it was asked for or leaves the cursor
 * where it was.
 */
import type { LexToken } from "./sql-lexer.ts";

/** Words that end or structure a clause, never read as a name by `ident()`. */
const RESERVED = new Set([
  "from",
  "in",
  "like",
  "where",
  "limit",
  "offset",
  "order",
  "by",
  "for",
  "using",
  "select",
  "on",
  "as",
]);

export class TokenCursor {
  private readonly code: readonly LexToken[];
  index = 0;

  constructor(
    readonly sql: string,
    tokens: readonly LexToken[],
  ) {
    this.code = tokens.filter((t) => t.kind !== "comment");
  }

  get token(): LexToken | undefined {
    return this.code[this.index];
  }

  at(offset = 0): LexToken | undefined {
    return this.code[this.index + offset];
  }

  get done(): boolean {
    return this.index >= this.code.length;
  }

  /** The lower-case text of the token `offset` ahead ("" past the end). */
  peek(offset = 0): string {
    const token = this.code[this.index + offset];
    return token === undefined ? "" : this.sql.slice(token.start, token.end).toLowerCase();
  }

  /** Consumes the words (or punctuation) `expected`, in order, or nothing. */
  word(...expected: string[]): boolean {
    for (const [i, w] of expected.entries()) {
      const token = this.at(i);
      if (token === undefined || token.kind === "string" || this.peek(i) !== w) return false;
    }
    this.index += expected.length;
    return true;
  }

  /** Consumes one of `choices` (a single word each) and answers it, or undefined. */
  oneOf(choices: readonly string[]): string | undefined {
    const w = this.peek();
    if (this.token?.kind === "string" || !choices.includes(w)) return undefined;
    this.index += 1;
    return w;
  }

  /** An identifier: a plain word that is not a clause word, or a `quoted` one. */
  ident(): boolean {
    const token = this.token;
    if (token === undefined) return false;
    if (token.kind === "quoted_identifier" || (token.kind === "word" && !RESERVED.has(this.peek()))) {
      this.index += 1;
      return true;
    }
    return false;
  }

  /** `name` or `schema.name`, with no space around the dot. */
  qualifiedName(): boolean {
    const start = this.index;
    if (!this.ident()) return false;
    const dot = this.token;
    const after = this.at(1);
    if (dot !== undefined && this.peek() === "." && after !== undefined && dot.start === this.at(-1)?.end) {
      this.index += 1;
      if (!this.ident() || after.start !== dot.end) {
        this.index = start;
        return false;
      }
    }
    return true;
  }

  kind(kind: LexToken["kind"]): boolean {
    if (this.token?.kind !== kind) return false;
    this.index += 1;
    return true;
  }

  /** Index of the `)` that closes the `(` at the cursor, or undefined when unbalanced. */
  closingParen(): number | undefined {
    if (this.peek() !== "(") return undefined;
    let depth = 0;
    for (let i = this.index; i < this.code.length; i += 1) {
      const t = this.code[i];
      if (t === undefined || t.kind !== "operator") continue;
      const c = this.sql[t.start];
      if (c === "(") depth += 1;
      else if (c === ")") depth -= 1;
      if (depth === 0) return i;
    }
    return undefined;
  }

  /** The token at absolute index `i`. */
  tokenAt(i: number): LexToken | undefined {
    return this.code[i];
  }

  get length(): number {
    return this.code.length;
  }
}
