/**
 * The CLI's side of OIDC (openid-client): discovery for the public client `dbward login` signs
 * in as, refreshing a stored session, and revoking its tokens at logout. Plain http is allowed
 * for a loopback issuer only, as on the bot.
 */
import * as oidc from "openid-client";
import { CliError } from "./cli-error.ts";
import { EXIT } from "./exit-codes.ts";

export function isLoopbackHttp(url: URL): boolean {
  return url.protocol === "http:" && ["127.0.0.1", "[::1]", "localhost"].includes(url.hostname);
}

export async function discoverClient(issuer: string, clientId: string): Promise<oidc.Configuration> {
  const url = new URL(issuer);
  if (url.protocol !== "https:" && !isLoopbackHttp(url))
    throw new CliError(
      `the identity provider ${issuer} is not https; refusing to sign in over it`,
      EXIT.refused,
    );
  try {
    return await oidc.discovery(url, clientId, undefined, oidc.None(), {
      ...(isLoopbackHttp(url) ? { execute: [oidc.allowInsecureRequests] } : {}),
      timeout: 30,
    });
  } catch (err) {
    throw new CliError(
      `cannot reach the identity provider at ${issuer}: ${(err as Error).message}`,
      EXIT.unreachable,
    );
  }
}

/** Seconds from now as an ISO time, or undefined when the provider did not say. */
export function expiryOf(expiresIn: number | undefined, now: Date): string | undefined {
  return expiresIn === undefined ? undefined : new Date(now.getTime() + expiresIn * 1000).toISOString();
}
