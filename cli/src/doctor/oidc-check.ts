/**
 * Doctor's OIDC check: discovery at `<issuer>/.well-known/openid-configuration` done as the bot
 * does it (openid-client, which also checks that the document names this issuer), then the key set
 * it points at. The bot starts without either, but every bearer JWT is then refused
 * (`idp_unreachable`) and `dbward login` cannot begin, so a failure here is a failure.
 */
import type { OidcConfig } from "@dbward/bot/config/identity-config";
import * as oidc from "openid-client";
import { fail, fetchFailure, ok, warn, type Check } from "./check.ts";

/** Short on purpose: doctor runs by hand, and a provider slower than this is a finding. */
const TIMEOUT_MS = 5000;
const WHAT = "OIDC discovery";

export async function checkOidcDiscovery(cfg: OidcConfig | undefined): Promise<Check[]> {
  if (cfg === undefined) return [ok(WHAT, "not configured (no oidc:): API tokens and Slack only")];
  const issuer = new URL(cfg.issuer);
  const timeoutMs = Math.min(cfg.timeout_ms, TIMEOUT_MS);
  const discoveryUrl = `${cfg.issuer.replace(/\/$/, "")}/.well-known/openid-configuration`;
  let meta: oidc.ServerMetadata;
  try {
    const configuration = await oidc.discovery(issuer, cfg.client_id, undefined, undefined, {
      // Plain http is accepted for a loopback issuer only (identity-config.ts checks the URL).
      ...(issuer.protocol === "http:" ? { execute: [oidc.allowInsecureRequests] } : {}),
      timeout: Math.ceil(timeoutMs / 1000),
    });
    meta = configuration.serverMetadata();
  } catch (err) {
    return [
      fail(
        WHAT,
        `discovery failed at ${discoveryUrl}: ${fetchFailure(err)}`,
        "check oidc.issuer (it must be the provider's issuer identifier exactly), DNS, and egress from the bot's host",
      ),
    ];
  }
  if (meta.jwks_uri === undefined)
    return [fail(WHAT, `${discoveryUrl} publishes no jwks_uri`, "check oidc.issuer")];
  const keys = await checkKeySet(meta.jwks_uri, timeoutMs);
  if (keys.status !== "ok") return [keys];
  const checks = [ok(WHAT, `issuer ${meta.issuer}: ${keys.detail}`)];
  if (meta.device_authorization_endpoint === undefined)
    checks.push(
      warn(
        WHAT,
        "the provider offers no device authorization endpoint",
        "enable the device authorization grant for the client, or dbward login cannot sign anyone in",
      ),
    );
  return checks;
}

async function checkKeySet(url: string, timeoutMs: number): Promise<Check> {
  try {
    const res = await fetch(url, { redirect: "error", signal: AbortSignal.timeout(timeoutMs) });
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
    const body = (await res.json()) as { keys?: unknown };
    if (!Array.isArray(body.keys) || body.keys.length === 0) throw new Error("no keys in the key set");
    return ok(WHAT, `${body.keys.length} signing keys at ${url}`);
  } catch (err) {
    return fail(
      WHAT,
      `cannot read the key set at ${url}: ${fetchFailure(err)}`,
      "check the provider: every bearer JWT is refused while its keys cannot be read",
    );
  }
}
