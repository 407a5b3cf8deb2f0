/**
 * `dbward login` and `dbward logout`. Login signs the CLI in to a bot's identity provider with the
 * device authorization grant (RFC 8628): the CLI shows a code and a URL, the person approves on
 * any device with a browser — the machine running the CLI needs none, so it works over SSH — and
 * the tokens are kept in the user's config directory (credentials.ts). The bot tells the CLI
 * where to sign in (GET /api/auth/oidc); the CLI checks the result with GET /api/me before it
 * stores anything. Logout revokes the tokens where the provider offers revocation (RFC 7009),
 * then deletes them.
 */
import type { MeView, OidcLoginInfoView } from "@dbward/shared";
import * as oidc from "openid-client";
import { apiClient } from "../api-client.ts";
import { CliError } from "../cli-error.ts";
import {
  credentialsPath,
  deleteSession,
  normalizeUrl,
  saveSession,
  type StoredSession,
} from "../credentials.ts";
import { EXIT } from "../exit-codes.ts";
import { discoverClient, expiryOf } from "../oidc-client.ts";
import type { Output } from "../output.ts";
import { bearerOf } from "../session-token.ts";

type Env = Readonly<Record<string, string | undefined>>;

function botUrl(env: Env, flag: string | undefined): string {
  const url = flag ?? env.DBWARD_URL;
  if (url === undefined || url === "")
    throw new CliError("no bot URL: pass --url or set DBWARD_URL", EXIT.usage);
  return normalizeUrl(url);
}

async function loginInfo(url: string): Promise<OidcLoginInfoView> {
  let res: Response;
  try {
    res = await fetch(`${url}/api/auth/oidc`, { signal: AbortSignal.timeout(30_000) });
  } catch (err) {
    throw new CliError(`cannot reach the bot at ${url}: ${(err as Error).message}`, EXIT.unreachable);
  }
  if (res.status === 404)
    throw new CliError(
      `the bot at ${url} does not offer sign-in with an identity provider; use an API token`,
      EXIT.usage,
    );
  if (!res.ok) throw new CliError(`the bot at ${url} answered ${res.status} to /api/auth/oidc`, EXIT.failure);
  return (await res.json()) as OidcLoginInfoView;
}

export async function login(out: Output, env: Env, flags: { url?: string | undefined }): Promise<void> {
  const url = botUrl(env, flags.url);
  const info = await loginInfo(url);
  const config = await discoverClient(info.issuer, info.client_id);
  const params = {
    scope: info.scopes.join(" "),
    ...(info.resource !== null ? { resource: info.resource } : {}),
  };
  let tokens: oidc.TokenEndpointResponse;
  try {
    const device = await oidc.initiateDeviceAuthorization(config, params);
    out.print(
      `To sign in, open ${device.verification_uri} on any device and enter the code ${device.user_code}`,
    );
    if (device.verification_uri_complete !== undefined)
      out.print(`(or open ${device.verification_uri_complete})`);
    out.print("Waiting for you to finish signing in…");
    tokens = await oidc.pollDeviceAuthorizationGrant(
      config,
      device,
      info.resource !== null ? { resource: info.resource } : undefined,
    );
  } catch (err) {
    if (err instanceof CliError) throw err;
    throw new CliError(`sign-in failed: ${(err as Error).message}`, EXIT.auth);
  }
  const expiresAt = expiryOf(tokens.expires_in, new Date());
  const pending = {
    url,
    issuer: info.issuer,
    client_id: info.client_id,
    bearer: info.bearer,
    access_token: tokens.access_token,
    ...(tokens.id_token !== undefined ? { id_token: tokens.id_token } : {}),
    ...(tokens.refresh_token !== undefined ? { refresh_token: tokens.refresh_token } : {}),
    ...(expiresAt !== undefined ? { expires_at: expiresAt } : {}),
  };
  const bearer = bearerOf(pending);
  if (bearer === undefined) throw new CliError(`the identity provider sent no ${info.bearer}`, EXIT.auth);
  // The bot decides who this is; nothing is stored for a token it refuses.
  const me = await apiClient(url, bearer).get<MeView>("/api/me");
  const session: StoredSession = { ...pending, user: me.user.id };
  saveSession(env, session);
  out.print(`signed in to ${url} as ${me.user.id} (roles: ${me.roles.join(", ") || "none"})`);
  out.print(`credentials saved in ${credentialsPath(env)}`);
}

export async function logout(out: Output, env: Env, flags: { url?: string | undefined }): Promise<void> {
  const url = botUrl(env, flags.url);
  const session = deleteSession(env, url);
  if (session === undefined) {
    out.print(`not signed in to ${url}`);
    return;
  }
  const outcome = await revoke(session).catch((err: unknown) => {
    out.error(`dbward: could not revoke the tokens at the identity provider: ${(err as Error).message}`);
    return "failed" as const;
  });
  const expires = session.expires_at === undefined ? "" : ` at ${session.expires_at}`;
  const note = {
    revoked: " (tokens revoked at the identity provider)",
    grant_revoked: ` (sign-in revoked at the identity provider; its last access token expires on its own${expires})`,
    not_offered: ` (the identity provider offers no revocation; the access token expires on its own${expires})`,
    failed: "",
  }[outcome];
  out.print(`signed out of ${url}${note}`);
}

/**
 * Revokes the refresh token, which ends the grant, then the access token. A provider may refuse
 * to revoke a self-contained JWT access token (RFC 7009 §2.2.1, `unsupported_token_type`): it
 * then simply expires.
 */
async function revoke(session: StoredSession): Promise<"revoked" | "grant_revoked" | "not_offered"> {
  const config = await discoverClient(session.issuer, session.client_id);
  if (config.serverMetadata().revocation_endpoint === undefined) return "not_offered";
  if (session.refresh_token !== undefined) await oidc.tokenRevocation(config, session.refresh_token);
  try {
    await oidc.tokenRevocation(config, session.access_token);
    return "revoked";
  } catch (err) {
    if (err instanceof oidc.ResponseBodyError && err.error === "unsupported_token_type")
      return session.refresh_token !== undefined ? "grant_revoked" : "not_offered";
    throw err;
  }
}
