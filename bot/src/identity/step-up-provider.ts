/**
 * The bot's side of a step-up sign-in at the identity provider (openid-client): an
 * authorization-code flow with PKCE (RFC 7636, S256), `prompt=login` and `max_age` (OpenID
 * Connect Core §3.1.2.1), for the client `step_up.client_id` (default `oidc.client_id`) with the
 * redirect URI `<step_up.public_url>/step-up/callback`. The code exchange checks what
 * openid-client checks (issuer, the `iss` response parameter of RFC 9207 when the provider
 * announces it, state, the ID token's signature, audience, expiry and nonce); the caller checks
 * the subject and `auth_time` (step-up-complete.ts).
 *
 * Discovery runs once per config (a reload that changes `oidc:` or `step_up:` runs it again); a
 * failed one is forgotten so the next click tries again. Plain http only for a loopback issuer.
 */
import * as oidc from "openid-client";
import type { OidcConfig } from "../config/bot-config.ts";
import type { StepUpConfig } from "../config/step-up-config.ts";

export const STEP_UP_CALLBACK_PATH = "/step-up/callback";

export interface StepUpSignInStart {
  readonly state: string;
  readonly nonce: string;
  readonly codeVerifier: string;
}

/** The verified answer: who signed in and when. */
export interface StepUpIdentity {
  readonly subject: string;
  readonly authTime: number | undefined;
}

const configurations = new WeakMap<
  StepUpConfig,
  { oidc: OidcConfig; configuration: Promise<oidc.Configuration> }
>();

function configurationFor(o: OidcConfig, s: StepUpConfig): Promise<oidc.Configuration> {
  const cached = configurations.get(s);
  if (cached !== undefined && cached.oidc === o) return cached.configuration;
  const issuer = new URL(o.issuer);
  const configuration = oidc.discovery(issuer, s.client_id ?? o.client_id, undefined, oidc.None(), {
    // identity-config.ts allows plain http for a loopback issuer only.
    ...(issuer.protocol === "http:" ? { execute: [oidc.allowInsecureRequests] } : {}),
    timeout: Math.ceil(o.timeout_ms / 1000),
  });
  configurations.set(s, { oidc: o, configuration });
  configuration.catch(() => {
    if (configurations.get(s)?.configuration === configuration) configurations.delete(s);
  });
  return configuration;
}

export function callbackUrl(s: StepUpConfig): string {
  return `${s.public_url.replace(/\/+$/, "")}${STEP_UP_CALLBACK_PATH}`;
}

/** The provider's authorization URL for a new attempt; the secrets are the caller's to store. */
export async function authorizationUrl(
  o: OidcConfig,
  s: StepUpConfig,
  start: StepUpSignInStart,
): Promise<string> {
  const configuration = await configurationFor(o, s);
  const url = oidc.buildAuthorizationUrl(configuration, {
    redirect_uri: callbackUrl(s),
    response_type: "code",
    scope: "openid",
    code_challenge: await oidc.calculatePKCECodeChallenge(start.codeVerifier),
    code_challenge_method: "S256",
    state: start.state,
    nonce: start.nonce,
    // A sign-in now, not a session the browser already has (OpenID Connect Core §3.1.2.1).
    prompt: "login",
    max_age: String(Math.floor(s.max_age / 1000)),
  });
  return url.href;
}

/** A new PKCE verifier (43+ characters of base64url, RFC 7636 §4.1). */
export function newCodeVerifier(): string {
  return oidc.randomPKCECodeVerifier();
}

/**
 * Exchanges the code the provider sent to the callback. `query` is the callback's query string
 * as received; the redirect URI is rebuilt from `public_url`, so a proxy in front changes nothing.
 */
export async function exchangeCode(
  o: OidcConfig,
  s: StepUpConfig,
  query: string,
  start: StepUpSignInStart,
): Promise<StepUpIdentity> {
  const configuration = await configurationFor(o, s);
  const current = new URL(`${callbackUrl(s)}${query}`);
  const tokens = await oidc.authorizationCodeGrant(configuration, current, {
    pkceCodeVerifier: start.codeVerifier,
    expectedState: start.state,
    expectedNonce: start.nonce,
    idTokenExpected: true,
  });
  const claims = tokens.claims();
  if (claims === undefined) throw new Error("the provider sent no ID token");
  const issuer = configuration.serverMetadata().issuer;
  return {
    // The same form oidc-verifier.ts gives bearer JWTs, and users' oidc_subject holds.
    subject: `${issuer}#${claims.sub}`,
    authTime: typeof claims.auth_time === "number" ? claims.auth_time : undefined,
  };
}
