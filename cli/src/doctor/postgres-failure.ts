/**
 * Why a connection to the PostgreSQL state failed, as a person can act on it: nothing listening,
 * a name that does not resolve, no answer, a refused login, a database that does not exist. The
 * server's SQLSTATE decides where there is one (PostgreSQL docs, appendix A: class 28 invalid
 * authorization, 3D000 invalid catalog name); a socket error's code otherwise. Never names the
 * password, only the variable that holds it.
 */
import { STATE_PASSWORD_ENV } from "@dbward/bot/config/state-config";

export interface PostgresFailure {
  readonly reason: string;
  readonly fix: string;
}

export function postgresFailure(
  err: unknown,
  url: URL,
  o: { readonly passwordSet: boolean },
): PostgresFailure {
  const code = errorCode(err);
  const message = err instanceof Error ? err.message : String(err);
  const user = decodeURIComponent(url.username) || "(the OS user)";
  const host = `${url.hostname}:${url.port || "5432"}`;
  const database = decodeURIComponent(url.pathname.slice(1));
  if (code === "ECONNREFUSED")
    return {
      reason: `connection refused: nothing listens at ${host}`,
      fix: `check that PostgreSQL runs and that state.url names its host and port`,
    };
  if (code === "ENOTFOUND" || code === "EAI_AGAIN")
    return {
      reason: `the host ${url.hostname} does not resolve`,
      fix: "check the host name in state.url and DNS",
    };
  if (code === "ETIMEDOUT" || /timeout/i.test(message))
    return {
      reason: `no answer from ${host} in time`,
      fix: "check the host and port in state.url, and that a firewall lets this machine reach it",
    };
  if (code === "3D000")
    return {
      reason: `the database ${database} does not exist`,
      fix: `create it (CREATE DATABASE ${database} OWNER ${user}), or correct the database name in state.url`,
    };
  if (code === "28000" && /role .* does not exist/.test(message))
    return {
      reason: `the role ${user} does not exist on the server`,
      fix: `create it (CREATE ROLE ${user} LOGIN PASSWORD …, the password in ${STATE_PASSWORD_ENV}), or correct the user in state.url`,
    };
  if (code === "28000")
    return {
      reason: `the server refused the login of ${user}: ${message}`,
      fix: "let pg_hba.conf admit this host, user and database (and TLS, if it requires it: ?sslmode= in state.url)",
    };
  if (code?.startsWith("28") === true || /password|SASL|SCRAM/i.test(message))
    return {
      reason: `the server refused the login of ${user}: ${message}`,
      fix: o.passwordSet
        ? `check ${STATE_PASSWORD_ENV} and the role ${user}, and that pg_hba.conf admits this host`
        : `set ${STATE_PASSWORD_ENV} in the bot's environment (state.url never carries a password)`,
    };
  return { reason: message, fix: "check state.url and that this machine can reach the server" };
}

/** A SQLSTATE from the server, or a socket error's code (the first of several, for a host with two addresses). */
function errorCode(err: unknown): string | undefined {
  if (err instanceof AggregateError) return errorCode(err.errors[0]);
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === "string" ? code : undefined;
}
