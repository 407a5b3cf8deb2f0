/**
 * Parses the text after `/dbward` into a typed command. Pure: the databases and their
 * environments are passed in, so the parser knows which words are names and which are SQL.
 *
 * The one-line query form is `query <database> [environment] ["reason"] <sql>`. The environment
 * may be left out when the database has only one. A reason in double quotes right before the SQL
 * is unambiguous (no statement starts with a quoted string); without one, the query modal opens
 * with everything given so far filled in, and asks for the rest.
 */
import { parseRequestId, type RequestId } from "@dbward/shared";
import { decodeEntities, splitLeadingQuote, sqlFromCommandText, unlink } from "./slack-text.ts";

export interface KnownDatabase {
  readonly name: string;
  readonly environments: readonly string[];
}

/** What the query form had; whatever is missing the modal asks for. */
export interface QueryDraft {
  readonly database?: string;
  readonly environment?: string;
  readonly sql?: string;
  readonly reason?: string;
}

export type SlashCommand =
  | { readonly kind: "help" }
  | { readonly kind: "query"; readonly draft: QueryDraft }
  | { readonly kind: "status"; readonly id: RequestId }
  | { readonly kind: "list" }
  | { readonly kind: "cancel"; readonly id: RequestId; readonly reason: string }
  | { readonly kind: "usage"; readonly message: string };

export function parseSlashCommand(text: string, databases: readonly KnownDatabase[]): SlashCommand {
  const trimmed = text.trim();
  const m = /^(\S+)\s*([\s\S]*)$/.exec(trimmed);
  const word = m?.[1]?.toLowerCase() ?? "";
  const rest = m?.[2] ?? "";
  switch (word) {
    case "":
    case "help":
      return { kind: "help" };
    case "query":
      return parseQuery(rest, databases);
    case "status":
      return withId(rest, "status <id>", (id) => ({ kind: "status", id }));
    case "list":
      return { kind: "list" };
    case "cancel":
      return withId(rest, "cancel <id> [reason]", (id, more) => ({
        kind: "cancel",
        id,
        reason: decodeEntities(unlink(more)).trim(),
      }));
    default:
      return usage(`There is no \`${word}\` command.`);
  }
}

function parseQuery(rest: string, databases: readonly KnownDatabase[]): SlashCommand {
  const [first, afterFirst] = nextWord(rest);
  if (first === undefined) return { kind: "query", draft: {} };
  const db = databases.find((d) => d.name === first);
  if (db === undefined) {
    const known = databases.map((d) => `\`${d.name}\``).join(", ");
    return usage(
      `There is no database \`${first}\`. Known: ${known}. Run \`/dbward query\` alone to pick from a list.`,
    );
  }
  const [second, afterSecond] = nextWord(afterFirst);
  let environment: string | undefined;
  let tail = afterFirst;
  if (second !== undefined && db.environments.includes(second)) {
    environment = second;
    tail = afterSecond;
  } else if (db.environments.length === 1) {
    environment = db.environments[0];
  } else if (second !== undefined && looksLikeName(second)) {
    const envs = db.environments.map((e) => `\`${e}\``).join(", ");
    return usage(`Database \`${db.name}\` has no environment \`${second}\`; it has ${envs}.`);
  }
  const quoted = splitLeadingQuote(tail);
  const reason = quoted === undefined ? undefined : decodeEntities(unlink(quoted.quoted)).trim();
  const sql = sqlFromCommandText(quoted === undefined ? tail : quoted.rest);
  return {
    kind: "query",
    draft: {
      database: db.name,
      ...(environment !== undefined ? { environment } : {}),
      ...(sql !== "" ? { sql } : {}),
      ...(reason !== undefined && reason !== "" ? { reason } : {}),
    },
  };
}

function withId(
  rest: string,
  form: string,
  build: (id: RequestId, more: string) => SlashCommand,
): SlashCommand {
  const [word, more] = nextWord(rest);
  const id = parseRequestId(word);
  if (id === undefined) return usage(`Give the request's number: \`/dbward ${form}\`, e.g. \`42\`.`);
  return build(id, more);
}

/** Words a statement can start with; any other bare lower-case name after a database is an environment. */
const STATEMENT_WORDS = new Set(
  (
    "select with insert update delete merge create alter drop truncate grant revoke explain analyze " +
    "vacuum copy set show begin call do replace values table lock comment refresh reindex cluster " +
    "describe desc use rename optimize load prepare execute reset discard checkpoint start commit " +
    "rollback pragma attach detach"
  ).split(" "),
);

function looksLikeName(word: string): boolean {
  return /^[a-z0-9][a-z0-9_.-]{0,62}$/.test(word) && !STATEMENT_WORDS.has(word);
}

function nextWord(text: string): [string | undefined, string] {
  const m = /^\s*(\S+)\s*([\s\S]*)$/.exec(text);
  return m?.[1] === undefined ? [undefined, ""] : [m[1], m[2] ?? ""];
}

function usage(message: string): SlashCommand {
  return { kind: "usage", message: `${message} Try \`/dbward help\`.` };
}
