/**
 * A hostile OpenID provider for step-up attacks: discovery, a key set, an authorization endpoint
 * that sends the browser straight back with a code (no sign-in page), and a token endpoint that
 * signs whatever ID token the test asks for with the provider's real key. The real provider
 * (oidc-provider.ts) cannot be made to lie; this one lies on demand (another audience, another
 * issuer, a nonce from another sign-in, an auth_time in the future, missing or older than the
 * click as a provider ignoring prompt=login would send), so the bot's own checks are what a test
 * exercises. Loopback only.
 */
import { randomBytes } from "node:crypto";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { SignJWT, exportJWK, generateKeyPair, type JWK, type JWTPayload } from "jose";

/** What the authorization endpoint was asked, per code it issued. */
export interface HostileAuthorization {
  readonly clientId: string;
  readonly state: string;
  readonly nonce: string;
  readonly redirectUri: string;
  readonly prompt: string | null;
  readonly maxAge: string | null;
  readonly codeChallengeMethod: string | null;
}

export interface HostileIdp {
  readonly issuer: string;
  /** Every authorization request, oldest first. */
  readonly authorizations: HostileAuthorization[];
  /** The next ID token's claims: the honest ones in, the ones to sign out. Reset after one use. */
  nextIdToken(tamper: (honest: JWTPayload, a: HostileAuthorization) => JWTPayload): void;
  /** Extra query parameters on the next redirect back (error, error_description, iss). */
  nextRedirectParams(params: Record<string, string>): void;
  stop(): Promise<void>;
}

export async function startHostileIdp(subject: () => string): Promise<HostileIdp> {
  const { privateKey, publicKey } = await generateKeyPair("ES256", { extractable: true });
  const jwk: JWK = { ...(await exportJWK(publicKey)), kid: "hostile-1", alg: "ES256", use: "sig" };
  const codes = new Map<string, HostileAuthorization>();
  const authorizations: HostileAuthorization[] = [];
  let tamper: ((honest: JWTPayload, a: HostileAuthorization) => JWTPayload) | undefined;
  let extra: Record<string, string> = {};
  let issuer = "";

  const server: Server = createServer((req, res) => {
    res.setHeader("connection", "close");
    const url = new URL(req.url ?? "/", issuer);
    if (url.pathname === "/.well-known/openid-configuration") {
      res.setHeader("content-type", "application/json");
      res.end(
        JSON.stringify({
          issuer,
          authorization_endpoint: `${issuer}/authorize`,
          token_endpoint: `${issuer}/token`,
          jwks_uri: `${issuer}/jwks`,
          response_types_supported: ["code"],
          subject_types_supported: ["public"],
          id_token_signing_alg_values_supported: ["ES256"],
          code_challenge_methods_supported: ["S256"],
          token_endpoint_auth_methods_supported: ["none"],
        }),
      );
      return;
    }
    if (url.pathname === "/jwks") {
      res.setHeader("content-type", "application/json");
      res.end(JSON.stringify({ keys: [jwk] }));
      return;
    }
    if (url.pathname === "/authorize") {
      const p = url.searchParams;
      const a: HostileAuthorization = {
        clientId: p.get("client_id") ?? "",
        state: p.get("state") ?? "",
        nonce: p.get("nonce") ?? "",
        redirectUri: p.get("redirect_uri") ?? "",
        prompt: p.get("prompt"),
        maxAge: p.get("max_age"),
        codeChallengeMethod: p.get("code_challenge_method"),
      };
      authorizations.push(a);
      const code = randomBytes(16).toString("hex");
      codes.set(code, a);
      const back = new URL(a.redirectUri);
      back.searchParams.set("code", code);
      back.searchParams.set("state", a.state);
      for (const [k, v] of Object.entries(extra)) back.searchParams.set(k, v);
      extra = {};
      res.writeHead(302, { location: back.href }).end();
      return;
    }
    if (url.pathname === "/token" && req.method === "POST") {
      let body = "";
      req.on("data", (c: Buffer) => (body += c.toString("utf8")));
      req.on("end", () => {
        const form = new URLSearchParams(body);
        const a = codes.get(form.get("code") ?? "");
        res.setHeader("content-type", "application/json");
        if (a === undefined) {
          res.writeHead(400).end(JSON.stringify({ error: "invalid_grant" }));
          return;
        }
        const now = Math.floor(Date.now() / 1000);
        const honest: JWTPayload = {
          iss: issuer,
          aud: a.clientId,
          sub: subject(),
          nonce: a.nonce,
          iat: now,
          exp: now + 300,
          auth_time: now,
        };
        const claims = tamper === undefined ? honest : tamper(honest, a);
        tamper = undefined;
        new SignJWT(claims)
          .setProtectedHeader({ alg: "ES256", kid: jwk.kid ?? "", typ: "JWT" })
          .sign(privateKey)
          .then((idToken) =>
            res.end(
              JSON.stringify({
                access_token: "opaque",
                token_type: "Bearer",
                expires_in: 300,
                id_token: idToken,
              }),
            ),
          )
          .catch((err: unknown) => res.writeHead(500).end(String(err)));
      });
      return;
    }
    res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    get issuer() {
      return issuer;
    },
    authorizations,
    nextIdToken(t) {
      tamper = t;
    },
    nextRedirectParams(params) {
      extra = params;
    },
    async stop() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
