/**
 * A real OpenID Connect provider (oidc-provider, the certified implementation) on 127.0.0.1 with
 * a random port, for the identity tests. It speaks discovery, JWKS, the device authorization
 * grant, resource indicators (audience-bound JWT access tokens) and token revocation. Sign-in and
 * consent are answered by this file: whoever the test names signs in, and everything asked is
 * granted. The test can also take the key set endpoint down, rotate the signing keys (a restart
 * on the same port, as a real provider's rotation looks from outside), and sign tokens with the
 * provider's own keys to build the expired, wrong-audience and other invalid cases.
 *
 * oidc-provider warns "Unsupported runtime" on Node 20; it works (DEPENDENCIES.md).
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { SignJWT, exportJWK, generateKeyPair, type JWK, type JWTPayload } from "jose";
import Provider, { errors } from "oidc-provider";
import { approveDeviceCode } from "./device-approval.ts";

export const IDP_CLIENT_ID = "dbward-cli";
/**
 * The client the bot signs approvers in as for step-up approvals (authorization code + PKCE). A
 * native client's loopback redirect URI matches any port (RFC 8252 §7.3), so a bot on a random
 * port can use it.
 */
export const IDP_STEP_UP_CLIENT_ID = "dbward-step-up";
export const IDP_AUDIENCE = "https://dbward.test";
export const IDP_RESOURCE_SCOPE = "dbward";

export type SigningAlg = "RS256" | "ES256" | "EdDSA";

export interface IdpAccount {
  readonly preferred_username?: string;
  readonly name?: string;
  readonly email?: string;
  readonly groups?: readonly string[];
}

export interface DeviceTokens {
  readonly access_token: string;
  readonly id_token?: string;
  readonly refresh_token?: string;
}

export interface TestIdp {
  readonly issuer: string;
  /** Who exists at the provider, by subject. Tests add and change accounts freely. */
  readonly accounts: Map<string, IdpAccount>;
  /** When true, the key set endpoint answers 503 (the rest of the provider still works). */
  jwksDown: boolean;
  /** The algorithm the provider signs access tokens with. */
  accessTokenAlg: SigningAlg;
  /** Signs a JWT with the provider's current key for `alg` (or `key` when given). */
  mint(claims: JWTPayload, opts?: { alg?: SigningAlg; key?: SigningKeyPair; typ?: string }): Promise<string>;
  /** A fresh key pair the provider does not publish (for forged tokens). */
  foreignKey(alg: SigningAlg): Promise<SigningKeyPair>;
  /** The whole device flow as the person and the CLI would run it, for `sub`. */
  deviceLogin(sub: string): Promise<DeviceTokens>;
  /** The browser side only: sign in as `sub` and approve the code the CLI shows. */
  approve(userCode: string, sub: string): Promise<void>;
  /**
   * Who signs in at the next sign-in prompt (an authorization-code flow), and how long ago the
   * provider says they did (`auth_time`; 0 by default: now).
   */
  signInNext(sub: string, opts?: { authAgeSeconds?: number }): void;
  /** New signing keys, old ones gone: the provider restarts on the same port. */
  rotateKeys(): Promise<void>;
  stop(): Promise<void>;
}

export interface SigningKeyPair {
  readonly alg: SigningAlg;
  readonly kid: string;
  readonly privateJwk: JWK;
}

let keyCounter = 0;

async function newKey(alg: SigningAlg): Promise<SigningKeyPair> {
  const { privateKey } = await generateKeyPair(alg === "EdDSA" ? "Ed25519" : alg, { extractable: true });
  const kid = `test-${alg.toLowerCase()}-${++keyCounter}`;
  return { alg, kid, privateJwk: { ...(await exportJWK(privateKey)), kid, alg, use: "sig" } };
}

async function newKeys(): Promise<SigningKeyPair[]> {
  return Promise.all((["RS256", "ES256", "EdDSA"] as const).map(newKey));
}

export async function startTestIdp(): Promise<TestIdp> {
  const accounts = new Map<string, IdpAccount>();
  let keys = await newKeys();
  let nextLogin: string | undefined;
  let nextLoginAgeSeconds = 0;
  let server: Server | undefined;
  let port = 0;
  let issuer = "";

  const state = { jwksDown: false, accessTokenAlg: "ES256" as SigningAlg };
  const claimsOf = (sub: string): Record<string, unknown> => {
    const a = accounts.get(sub) ?? {};
    return { sub, ...a, ...(a.groups !== undefined ? { groups: [...a.groups] } : {}) };
  };

  const listen = async (): Promise<void> => {
    const provider = buildProvider(issuer || "http://127.0.0.1", keys, state, claimsOf);
    const handler = provider.callback();
    const s = createServer((req, res) => {
      // No kept-alive connections: a restart (key rotation) must not leave clients a dead socket.
      res.setHeader("connection", "close");
      if (state.jwksDown && req.url?.startsWith("/jwks") === true) {
        res.writeHead(503).end("key set unavailable");
        return;
      }
      if (req.url?.startsWith("/interaction/") === true) {
        interact(provider, req, res, nextLogin, nextLoginAgeSeconds).catch((err: unknown) => {
          res.writeHead(500).end(String(err));
        });
        return;
      }
      handler(req, res);
    });
    await new Promise<void>((resolve) => s.listen(port, "127.0.0.1", resolve));
    server = s;
    if (port === 0) {
      port = (s.address() as AddressInfo).port;
      issuer = `http://127.0.0.1:${port}`;
      // The issuer must carry the real port: start again now that it is known.
      await close();
      await listen();
    }
  };
  const close = async (): Promise<void> => {
    const s = server;
    server = undefined;
    if (s === undefined) return;
    s.closeAllConnections();
    await new Promise<void>((resolve) => s.close(() => resolve()));
  };
  await listen();

  const idp: TestIdp = {
    get issuer() {
      return issuer;
    },
    accounts,
    get jwksDown() {
      return state.jwksDown;
    },
    set jwksDown(v: boolean) {
      state.jwksDown = v;
    },
    get accessTokenAlg() {
      return state.accessTokenAlg;
    },
    set accessTokenAlg(v: SigningAlg) {
      state.accessTokenAlg = v;
    },
    async mint(claims, opts = {}) {
      const key = opts.key ?? keys.find((k) => k.alg === (opts.alg ?? "ES256"));
      if (key === undefined) throw new Error("no such key");
      const now = Math.floor(Date.now() / 1000);
      return new SignJWT({ iss: issuer, aud: IDP_AUDIENCE, iat: now, exp: now + 300, ...claims })
        .setProtectedHeader({ alg: key.alg, kid: key.kid, typ: opts.typ ?? "at+jwt" })
        .sign(key.privateJwk);
    },
    foreignKey: newKey,
    signInNext(sub, opts = {}) {
      nextLogin = sub;
      nextLoginAgeSeconds = opts.authAgeSeconds ?? 0;
    },
    async approve(userCode, sub) {
      nextLogin = sub;
      nextLoginAgeSeconds = 0;
      await approveDeviceCode(issuer, userCode);
    },
    async deviceLogin(sub) {
      const start = await form(`${issuer}/device/auth`, {
        client_id: IDP_CLIENT_ID,
        scope: `openid profile email ${IDP_RESOURCE_SCOPE}`,
        resource: IDP_AUDIENCE,
      });
      await idp.approve(String(start.user_code), sub);
      const tokens = await form(`${issuer}/token`, {
        grant_type: "urn:ietf:params:oauth:grant-type:device_code",
        device_code: String(start.device_code),
        client_id: IDP_CLIENT_ID,
      });
      return tokens as unknown as DeviceTokens;
    },
    async rotateKeys() {
      keys = await newKeys();
      await close();
      await listen();
    },
    stop: close,
  };
  return idp;
}

async function form(url: string, fields: Record<string, string>): Promise<Record<string, unknown>> {
  const res = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams(fields).toString(),
  });
  const body = (await res.json()) as Record<string, unknown>;
  if (!res.ok) throw new Error(`${url} answered ${res.status}: ${JSON.stringify(body)}`);
  return body;
}

function buildProvider(
  issuer: string,
  keys: readonly SigningKeyPair[],
  state: { readonly accessTokenAlg: SigningAlg },
  claimsOf: (sub: string) => Record<string, unknown>,
): Provider {
  return new Provider(issuer, {
    clients: [
      {
        client_id: IDP_CLIENT_ID,
        token_endpoint_auth_method: "none",
        grant_types: ["urn:ietf:params:oauth:grant-type:device_code", "refresh_token"],
        // ID tokens say when the person signed in (step-up approvals read it from the bearer).
        require_auth_time: true,
        response_types: [],
        redirect_uris: [],
      },
      {
        client_id: IDP_STEP_UP_CLIENT_ID,
        application_type: "native",
        token_endpoint_auth_method: "none",
        grant_types: ["authorization_code"],
        response_types: ["code"],
        redirect_uris: ["http://127.0.0.1/step-up/callback"],
      },
    ],
    jwks: { keys: keys.map((k) => k.privateJwk) },
    cookies: { keys: ["dbward-test-cookie-key"] },
    claims: {
      openid: ["sub"],
      profile: ["name", "preferred_username"],
      email: ["email"],
      groups: ["groups"],
    },
    scopes: ["openid", "profile", "email", "offline_access", IDP_RESOURCE_SCOPE],
    findAccount: (_ctx: unknown, sub: string) => ({ accountId: sub, claims: () => claimsOf(sub) }),
    // The access token carries the profile and groups, as an IdP's claim mappers would add them.
    extraTokenClaims: (_ctx: unknown, token: { accountId?: string }) => {
      if (token.accountId === undefined) return undefined;
      // `sub` is the provider's own claim; the rest is what the mappers add.
      return Object.fromEntries(Object.entries(claimsOf(token.accountId)).filter(([k]) => k !== "sub"));
    },
    interactions: { url: (_ctx: unknown, interaction: { uid: string }) => `/interaction/${interaction.uid}` },
    ttl: { AccessToken: 300, IdToken: 300, DeviceCode: 600, Grant: 3600, Interaction: 600, Session: 3600 },
    features: {
      devInteractions: { enabled: false },
      deviceFlow: {
        enabled: true,
        userCodeConfirmSource: (ctx: { body: string }, form: string) => {
          ctx.body = `<!DOCTYPE html><title>Confirm</title>${form}`;
        },
        successSource: (ctx: { body: string }) => {
          ctx.body = "<!DOCTYPE html><title>Signed in</title><p>Signed in. You can close this window.</p>";
        },
      },
      revocation: { enabled: true },
      resourceIndicators: {
        enabled: true,
        defaultResource: () => IDP_AUDIENCE,
        useGrantedResource: () => true,
        getResourceServerInfo: (_ctx: unknown, resource: string) => {
          if (resource !== IDP_AUDIENCE) throw new errors.InvalidTarget();
          return {
            scope: IDP_RESOURCE_SCOPE,
            audience: IDP_AUDIENCE,
            accessTokenFormat: "jwt",
            accessTokenTTL: 300,
            jwt: { sign: { alg: state.accessTokenAlg } },
          };
        },
      },
    },
  });
}

/** Sign-in and consent, answered at once: `sub` signs in and is granted what the client asked. */
async function interact(
  provider: Provider,
  req: Parameters<Provider["interactionDetails"]>[0],
  res: Parameters<Provider["interactionDetails"]>[1],
  sub: string | undefined,
  authAgeSeconds = 0,
): Promise<void> {
  const details = await provider.interactionDetails(req, res);
  if (details.prompt.name === "login") {
    if (sub === undefined) throw new Error("the test named nobody to sign in");
    // `ts` is the sign-in's time, which the ID token's auth_time reports.
    const ts = Math.floor(Date.now() / 1000) - authAgeSeconds;
    await provider.interactionFinished(
      req,
      res,
      { login: { accountId: sub, ts } },
      { mergeWithLastSubmission: false },
    );
    return;
  }
  const accountId = details.session?.accountId ?? sub ?? "";
  const grant = new provider.Grant({ accountId, clientId: String(details.params.client_id) });
  const missing = details.prompt.details as {
    missingOIDCScope?: string[];
    missingOIDCClaims?: string[];
    missingResourceScopes?: Record<string, string[]>;
  };
  if (missing.missingOIDCScope) grant.addOIDCScope(missing.missingOIDCScope.join(" "));
  if (missing.missingOIDCClaims) grant.addOIDCClaims(missing.missingOIDCClaims);
  for (const [resource, scopes] of Object.entries(missing.missingResourceScopes ?? {}))
    grant.addResourceScope(resource, scopes.join(" "));
  const grantId = await grant.save();
  await provider.interactionFinished(req, res, { consent: { grantId } }, { mergeWithLastSubmission: true });
}
