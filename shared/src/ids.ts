/**
 * Branded identifiers for values that cross a process boundary. Each has exactly one parse
 * function; everything downstream can trust the brand.
 */
declare const brand: unique symbol;
export type Brand<T, B extends string> = T & { readonly [brand]: B };

/** A request's number, shown to people as `#42`. */
export type RequestId = Brand<number, "RequestId">;
/** A database name as configured on the bot and the agent. */
export type DatabaseName = Brand<string, "DatabaseName">;
/** An environment name (`production`, `staging`, …). */
export type EnvironmentName = Brand<string, "EnvironmentName">;
/** A dbward user id (stable, chosen by config or the identity layer). */
export type UserId = Brand<string, "UserId">;
/** An agent's id as registered with the bot. */
export type AgentId = Brand<string, "AgentId">;

const NAME = /^[a-z0-9][a-z0-9_.-]{0,62}$/;

/** Accepts `42` or `#42`; undefined for anything else. */
export function parseRequestId(value: unknown): RequestId | undefined {
  const text = typeof value === "number" ? String(value) : typeof value === "string" ? value.trim() : "";
  const m = /^#?([1-9][0-9]{0,14})$/.exec(text);
  return m?.[1] === undefined ? undefined : (Number(m[1]) as RequestId);
}

function parseName<T>(value: unknown): T | undefined {
  return typeof value === "string" && NAME.test(value) ? (value as T) : undefined;
}

/** Lower-case names of letters, digits, `_`, `.`, `-`, at most 63 characters. */
export const parseDatabaseName = (v: unknown): DatabaseName | undefined => parseName<DatabaseName>(v);
export const parseEnvironmentName = (v: unknown): EnvironmentName | undefined =>
  parseName<EnvironmentName>(v);
export const parseUserId = (v: unknown): UserId | undefined => parseName<UserId>(v);
export const parseAgentId = (v: unknown): AgentId | undefined => parseName<AgentId>(v);

/** A description of what a valid name looks like, for error messages. */
export const NAME_RULE =
  "lower-case letters, digits, '_', '.' or '-', starting with a letter or digit, at most 63 characters";
