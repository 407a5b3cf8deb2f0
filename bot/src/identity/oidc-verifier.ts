/**
 * Bearer JWTs from the configured identity provider (docs/authentication.md). The issuer's
 * metadata comes from OpenID Connect discovery (openid-client); its key set is fetched from
 * `jwks_uri`, cached, and fetched again when a token names a key id the cache does not know
 * (key rotation), at most once per cooldown. Only the configured algorithms are accepted
 * (RS256, ES256, EdDSA by default; `none` and HMAC never, RFC 8725 §3.1); issuer, audience and
 * expiry are checked with a small leeway against the injected clock.
 *
 * Fail closed: a provider that cannot be reached, or answers nonsense, refuses the token. API
 * tokens never pass through here, so they keep working while the provider is down.
 */
import { createRemoteJWKSet, decodeProtectedHeader, errors, jwtVerify, type JWTPayload } from "jose";
import * as oidc from "openid-client";
import type { OidcConfig } from "../config/bot-config.ts";
import type { Clock } from "../core/clock.ts";

export type OidcRefusal =
  | "malformed"
  | "alg_not_allowed"
  | "unknown_key"
  | "bad_signature"
  | "expired"
  | "not_yet_valid"
  | "wrong_issuer"
  | "wrong_audience"
  | "missing_claim"
  | "idp_unreachable";

export type OidcVerdict =
  | { readonly ok: true; readonly claims: JWTPayload & { readonly sub: string }; readonly subject: string }
  | { readonly ok: false; readonly why: OidcRefusal; readonly detail: string };

interface Provider {
  readonly issuer: string;
  readonly keys: ReturnType<typeof createRemoteJWKSet>;
}

/** A compact JWS: three base64url parts, the last (signature) possibly empty as `alg: none` has it. */
const JWT_SHAPE = /^[A-Za-z0-9_-]{2,}\.[A-Za-z0-9_-]{2,}\.[A-Za-z0-9_-]*$/;

export function isJwtShaped(bearer: string): boolean {
  return JWT_SHAPE.test(bearer);
}

export class OidcVerifier {
  private forConfig: OidcConfig | undefined;
  private provider: Promise<Provider> | undefined;

  /** `config` is read on every call, so a reload that changes the `oidc:` section takes effect. */
  constructor(
    private readonly config: () => OidcConfig | undefined,
    private readonly clock: Clock,
  ) {}

  get configured(): boolean {
    return this.config() !== undefined;
  }

  async verify(token: string): Promise<OidcVerdict> {
    const cfg = this.config();
    if (cfg === undefined) return refuse("malformed", "OIDC is not configured");
    let alg: unknown;
    try {
      alg = decodeProtectedHeader(token).alg;
    } catch {
      return refuse("malformed", "not a JWS");
    }
    if (typeof alg !== "string" || !(cfg.algorithms as readonly string[]).includes(alg))
      return refuse("alg_not_allowed", `alg ${String(alg)} is not accepted`);
    let provider: Provider;
    try {
      provider = await this.providerFor(cfg);
    } catch (err) {
      return refuse("idp_unreachable", `discovery failed: ${messageOf(err)}`);
    }
    try {
      const { payload } = await jwtVerify(token, provider.keys, {
        issuer: provider.issuer,
        audience: cfg.audience,
        algorithms: [...cfg.algorithms],
        clockTolerance: cfg.leeway_seconds,
        currentDate: this.clock.now(),
        requiredClaims: ["sub", "exp"],
      });
      const sub = payload.sub;
      if (typeof sub !== "string" || sub === "") return refuse("missing_claim", "the token has no subject");
      return { ok: true, claims: { ...payload, sub }, subject: `${provider.issuer}#${sub}` };
    } catch (err) {
      return classify(err);
    }
  }

  /** Discovery once per config; a failed discovery is forgotten so the next call tries again. */
  private providerFor(cfg: OidcConfig): Promise<Provider> {
    if (this.forConfig !== cfg || this.provider === undefined) {
      this.forConfig = cfg;
      const attempt = discover(cfg);
      this.provider = attempt;
      attempt.catch(() => {
        if (this.provider === attempt) this.provider = undefined;
      });
    }
    return this.provider;
  }
}

async function discover(cfg: OidcConfig): Promise<Provider> {
  const issuerUrl = new URL(cfg.issuer);
  const configuration = await oidc.discovery(issuerUrl, cfg.client_id, undefined, undefined, {
    // Plain http is accepted for a loopback issuer only (identity-config.ts checks the URL).
    ...(issuerUrl.protocol === "http:" ? { execute: [oidc.allowInsecureRequests] } : {}),
    timeout: Math.ceil(cfg.timeout_ms / 1000),
  });
  const meta = configuration.serverMetadata();
  if (meta.jwks_uri === undefined) throw new Error("the provider publishes no jwks_uri");
  return {
    issuer: meta.issuer,
    keys: createRemoteJWKSet(new URL(meta.jwks_uri), {
      timeoutDuration: cfg.timeout_ms,
      cooldownDuration: cfg.jwks_cooldown_seconds * 1000,
      cacheMaxAge: cfg.jwks_cache_seconds * 1000,
    }),
  };
}

function classify(err: unknown): OidcVerdict {
  if (err instanceof errors.JWTExpired) return refuse("expired", err.message);
  if (err instanceof errors.JWTClaimValidationFailed) {
    if (err.claim === "aud") return refuse("wrong_audience", err.message);
    if (err.claim === "iss") return refuse("wrong_issuer", err.message);
    if (err.claim === "nbf" || err.claim === "iat") return refuse("not_yet_valid", err.message);
    return refuse("missing_claim", err.message);
  }
  if (err instanceof errors.JOSEAlgNotAllowed) return refuse("alg_not_allowed", err.message);
  if (err instanceof errors.JWKSNoMatchingKey || err instanceof errors.JWKSMultipleMatchingKeys)
    return refuse("unknown_key", err.message);
  if (err instanceof errors.JWSSignatureVerificationFailed) return refuse("bad_signature", err.message);
  if (err instanceof errors.JWSInvalid || err instanceof errors.JWTInvalid)
    return refuse("malformed", err.message);
  // A timeout, a refused connection, a non-200 or unparsable key set: the provider is not usable.
  return refuse("idp_unreachable", messageOf(err));
}

function refuse(why: OidcRefusal, detail: string): OidcVerdict {
  return { ok: false, why, detail: detail.slice(0, 300) };
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
