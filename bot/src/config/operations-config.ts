/**
 * The config sections for running the bot in production (docs/operations.md): `http` (client
 * addresses behind a proxy, rate limits, the HTTP server's timeouts and caps) and `monitoring`
 * (when an agent counts as gone).
 * Secrets are not here: the monitoring token comes from DBWARD_METRICS_TOKEN.
 */
import { BlockList, isIP } from "node:net";
import { z } from "zod";

/** `10.0.0.0/8`, `192.168.1.7`, `fd00::/8`, `::1`: an address or a CIDR block, IPv4 or IPv6. */
export function parseCidr(
  text: string,
): { address: string; prefix: number; family: "ipv4" | "ipv6" } | undefined {
  const [address = "", prefixText, ...rest] = text.trim().split("/");
  const version = isIP(address);
  if (version === 0 || rest.length > 0) return undefined;
  const max = version === 4 ? 32 : 128;
  if (prefixText !== undefined && !/^[0-9]{1,3}$/.test(prefixText)) return undefined;
  const prefix = prefixText === undefined ? max : Number(prefixText);
  if (prefix > max) return undefined;
  return { address, prefix, family: version === 4 ? "ipv4" : "ipv6" };
}

const cidr = z
  .string()
  .refine((s) => parseCidr(s) !== undefined, "must be an IP address or CIDR block such as 10.0.0.0/8");

const rateRule = z.strictObject({
  burst: z.number().int().min(1).max(100_000),
  per_minute: z.number().int().min(1).max(1_000_000),
});

export const DEFAULT_RATE_LIMITS = {
  /** Per user, every adapter: a person or script creating requests in a loop. */
  request_create: { burst: 30, per_minute: 60 },
  /** Per client IP: failed authentications (bad, missing, revoked tokens). */
  auth_failures: { burst: 30, per_minute: 30 },
} as const;

/**
 * The HTTP server's timeouts and caps (SECURITY.md: resource exhaustion before auth). A slow
 * client holds a connection for at most `request_timeout_ms`; a flood gets at most
 * `max_connections` sockets; at most `max_large_bodies` bodies above the small limit are read
 * at a time. Node refuses a headers timeout longer than the request timeout, so the config does.
 */
export const DEFAULT_SERVER_LIMITS = {
  headers_timeout_ms: 20_000,
  request_timeout_ms: 60_000,
  keep_alive_timeout_ms: 5_000,
  max_connections: 1000,
  max_large_bodies: 4,
} as const;

const millis = (min: number, max: number) => z.number().int().min(min).max(max);

const httpObject = z.strictObject({
  /**
   * Proxies whose X-Forwarded-For / X-Forwarded-Proto the bot believes: only when the direct
   * peer is in one of these blocks. Empty (the default): the peer address is the client.
   */
  trusted_proxies: z.array(cidr).max(100).default([]),
  rate_limits: z
    .strictObject({
      request_create: rateRule.default(DEFAULT_RATE_LIMITS.request_create),
      auth_failures: rateRule.default(DEFAULT_RATE_LIMITS.auth_failures),
    })
    .default(DEFAULT_RATE_LIMITS),
  /** Time to receive a request's headers, from its first byte. */
  headers_timeout_ms: millis(100, 600_000).default(DEFAULT_SERVER_LIMITS.headers_timeout_ms),
  /** Time to receive a whole request, headers and body; a slower one gets 408 and is closed. */
  request_timeout_ms: millis(100, 3_600_000).default(DEFAULT_SERVER_LIMITS.request_timeout_ms),
  /** How long an idle keep-alive connection stays open between requests. */
  keep_alive_timeout_ms: millis(100, 600_000).default(DEFAULT_SERVER_LIMITS.keep_alive_timeout_ms),
  /** Open sockets at once; past it, a new connection is closed as soon as it is accepted. */
  max_connections: z.number().int().min(1).max(1_000_000).default(DEFAULT_SERVER_LIMITS.max_connections),
  /** Bodies above the small limit being read at once; past it, 429 with Retry-After. */
  max_large_bodies: z.number().int().min(1).max(1000).default(DEFAULT_SERVER_LIMITS.max_large_bodies),
});

export const httpSchema = httpObject.refine((h) => h.headers_timeout_ms <= h.request_timeout_ms, {
  message: "must not be longer than http.request_timeout_ms",
  path: ["headers_timeout_ms"],
});

export const monitoringSchema = z.strictObject({
  /** An agent not seen for longer than this (and holding no live job lease) is `stale`. */
  agent_stale_after_seconds: z.number().int().min(10).max(86_400).default(90),
});

export type HttpConfig = z.infer<typeof httpSchema>;
export type MonitoringConfig = z.infer<typeof monitoringSchema>;

/** A compiled trusted_proxies list; IPv4-mapped IPv6 peers (`::ffff:10.0.0.1`) match IPv4 blocks. */
export function compileBlockList(cidrs: readonly string[]): (address: string) => boolean {
  const list = new BlockList();
  for (const text of cidrs) {
    const c = parseCidr(text);
    if (c !== undefined) list.addSubnet(c.address, c.prefix, c.family);
  }
  return (address) => {
    const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address)?.[1];
    const plain = mapped ?? address;
    const version = isIP(plain);
    return version !== 0 && list.check(plain, version === 4 ? "ipv4" : "ipv6");
  };
}
