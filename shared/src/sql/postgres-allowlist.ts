/**
 * The PostgreSQL allowlist: which names in a query are proven to be side-effect-free built-ins.
 * Names are compared exactly as the parser gives them, which folds unquoted identifiers to lower
 * case: `PG_CATALOG.lower` and `pg_catalog.lower` are the built-in, `"LOWER"` is some other
 * function and so not proven. A name is built in only unqualified or qualified with `pg_catalog`
 * (information_schema types only qualified), never three-part or in another schema.
 */
import { PG_FUNCTIONS, PG_OPERATORS, PG_TYPES, PG_VIEW_CALLS } from "./postgres-allowlist-data.ts";
import { EXCLUDED } from "./postgres-allowlist-notes.ts";

const FUNCTIONS: ReadonlySet<string> = new Set(PG_FUNCTIONS);
const OPERATORS: ReadonlySet<string> = new Set(PG_OPERATORS);
const TYPES: ReadonlySet<string> = new Set(PG_TYPES);

/** TABLESAMPLE methods that ship with PostgreSQL; extensions add others (tsm_system_rows, …). */
const TABLESAMPLE_METHODS: ReadonlySet<string> = new Set(["system", "bernoulli"]);

export type PgNameKind = "function" | "operator" | "type" | "tablesample";

/** Whether `parts` (a qualified name as parsed) names a vetted built-in of `kind`. */
export function isPgBuiltin(kind: PgNameKind, parts: readonly string[]): boolean {
  const name = builtinName(parts);
  if (name === undefined) {
    return (
      kind === "type" && parts.length === 2 && parts[0] === "information_schema" && TYPES.has(parts.join("."))
    );
  }
  switch (kind) {
    case "function":
      return FUNCTIONS.has(name);
    case "operator":
      return OPERATORS.has(name);
    case "type":
      return TYPES.has(name);
    case "tablesample":
      return TABLESAMPLE_METHODS.has(name);
  }
}

/** Why a pg_catalog function was left out by hand, when it was (`postgres-allowlist-notes.ts`). */
export function pgExclusionReason(parts: readonly string[]): string | undefined {
  const name = builtinName(parts);
  return name !== undefined && Object.hasOwn(EXCLUDED, name) ? EXCLUDED[name] : undefined;
}

/**
 * The never-a-read function a pg_catalog view's definition calls (`pg_file_settings` reads the
 * server's configuration files through `pg_show_all_file_settings()`), or undefined.
 */
export function pgViewCall(relname: string): string | undefined {
  return Object.hasOwn(PG_VIEW_CALLS, relname) ? PG_VIEW_CALLS[relname] : undefined;
}

/** The unqualified name when `parts` can only resolve to pg_catalog; undefined otherwise. */
function builtinName(parts: readonly string[]): string | undefined {
  if (parts.length === 1) return parts[0];
  if (parts.length === 2 && parts[0] === "pg_catalog") return parts[1];
  return undefined;
}
