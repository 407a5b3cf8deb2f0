/**
 * The bearer of a stored `dbward login` session, refreshed with the refresh token when it has
 * expired (or is about to), and saved back. Without a way to refresh, the person logs in again.
 */
import * as oidc from "openid-client";
import { CliError } from "./cli-error.ts";
import { loadSession, saveSession, type StoredSession } from "./credentials.ts";
import { EXIT } from "./exit-codes.ts";
import { discoverClient, expiryOf } from "./oidc-client.ts";

type Env = Readonly<Record<string, string | undefined>>;

/** Refresh this long before the provider's expiry, so a call never leaves with a dying token. */
const EARLY_MS = 30_000;

export function bearerOf(s: Pick<StoredSession, "bearer" | "access_token" | "id_token">): string | undefined {
  return s.bearer === "id_token" ? s.id_token : s.access_token;
}

export async function storedBearer(env: Env, url: string, now: Date = new Date()): Promise<string> {
  const session = loadSession(env, url);
  if (session === undefined)
    throw new CliError(
      `no API token: pass --token, set DBWARD_TOKEN, or run dbward login --url ${url}`,
      EXIT.usage,
    );
  const fresh = session.expires_at === undefined || Date.parse(session.expires_at) - EARLY_MS > now.getTime();
  const current = bearerOf(session);
  if (fresh && current !== undefined) return current;
  if (session.refresh_token === undefined)
    throw new CliError(`your sign-in to ${url} has expired; run dbward login again`, EXIT.auth);
  const config = await discoverClient(session.issuer, session.client_id);
  let tokens: oidc.TokenEndpointResponse;
  try {
    tokens = await oidc.refreshTokenGrant(config, session.refresh_token);
  } catch (err) {
    throw new CliError(
      `your sign-in to ${url} could not be renewed (${(err as Error).message}); run dbward login again`,
      EXIT.auth,
    );
  }
  const expiresAt = expiryOf(tokens.expires_in, now);
  const next: StoredSession = {
    url: session.url,
    issuer: session.issuer,
    client_id: session.client_id,
    bearer: session.bearer,
    user: session.user,
    ...(session.id_token !== undefined ? { id_token: session.id_token } : {}),
    ...(session.refresh_token !== undefined ? { refresh_token: session.refresh_token } : {}),
    access_token: tokens.access_token,
    ...(tokens.id_token !== undefined ? { id_token: tokens.id_token } : {}),
    ...(tokens.refresh_token !== undefined ? { refresh_token: tokens.refresh_token } : {}),
    ...(expiresAt !== undefined ? { expires_at: expiresAt } : {}),
  };
  saveSession(env, next);
  const bearer = bearerOf(next);
  if (bearer === undefined)
    throw new CliError(`the identity provider sent no ${next.bearer}; run dbward login again`, EXIT.auth);
  return bearer;
}
