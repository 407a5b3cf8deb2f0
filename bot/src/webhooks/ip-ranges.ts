/**
 * IP address ranges a webhook must not reach (SECURITY.md: webhook SSRF), and the allow-list
 * entries that open some of them for internal receivers. Pure: parsing and matching only.
 *
 * Ranges come from the IANA special-purpose registries (RFC 6890 and its updates): RFC 1918
 * private, RFC 6598 carrier-grade NAT, RFC 3927 / RFC 4291 §2.5.6 link-local, RFC 4193
 * unique-local, RFC 5737 / RFC 3849 documentation, RFC 2544 benchmarking, and the cloud metadata
 * endpoints. IPv6 forms that carry an IPv4 address — IPv4-mapped (RFC 4291 §2.5.5.2), NAT64
 * (RFC 6052) and 6to4 (RFC 3056) — are judged by the IPv4 address inside them.
 */
import { isIPv4, isIPv6 } from "node:net";

export const RANGE_KINDS = [
  "unspecified",
  "loopback",
  "private",
  "link_local",
  "carrier_grade_nat",
  "unique_local",
  "metadata",
  "multicast",
  "reserved",
  "documentation",
  "benchmarking",
] as const;
export type RangeKind = (typeof RANGE_KINDS)[number];

/** Kinds no allow-list entry opens: nothing legitimate listens there for a webhook. */
export const NEVER_ALLOWED: ReadonlySet<RangeKind> = new Set([
  "unspecified",
  "metadata",
  "multicast",
  "reserved",
]);

interface Cidr {
  readonly bytes: Uint8Array;
  readonly bits: number;
}

/** Parses a dotted-quad IPv4 or an IPv6 address (brackets allowed) to 4 or 16 bytes. */
export function parseIp(text: string): Uint8Array | undefined {
  const t = text.startsWith("[") && text.endsWith("]") ? text.slice(1, -1) : text;
  if (isIPv4(t)) return parseV4(t);
  if (isIPv6(t) && !t.includes("%")) return parseV6(t);
  return undefined;
}

function parseV4(t: string): Uint8Array | undefined {
  const parts = t.split(".");
  // Leading zeros are refused: some resolvers read them as octal.
  if (parts.length !== 4 || parts.some((p) => !/^(0|[1-9]\d{0,2})$/.test(p) || Number(p) > 255))
    return undefined;
  return Uint8Array.from(parts.map(Number));
}

function parseV6(t: string): Uint8Array | undefined {
  const halves = t.split("::");
  if (halves.length > 2) return undefined;
  const groups = (part: string | undefined): number[] | undefined => {
    if (part === undefined || part === "") return [];
    const out: number[] = [];
    for (const g of part.split(":")) {
      if (g.includes(".")) {
        const v4 = parseV4(g);
        if (v4 === undefined) return undefined;
        out.push(((v4[0] ?? 0) << 8) | (v4[1] ?? 0), ((v4[2] ?? 0) << 8) | (v4[3] ?? 0));
      } else if (/^[0-9a-fA-F]{1,4}$/.test(g)) out.push(parseInt(g, 16));
      else return undefined;
    }
    return out;
  };
  const head = groups(halves[0]);
  const tail = groups(halves[1]);
  if (head === undefined || tail === undefined) return undefined;
  const fill = 8 - head.length - tail.length;
  if (halves.length === 2 ? fill < 1 : fill !== 0) return undefined;
  const all = [...head, ...new Array<number>(halves.length === 2 ? fill : 0).fill(0), ...tail];
  const bytes = new Uint8Array(16);
  all.forEach((g, i) => {
    bytes[2 * i] = g >> 8;
    bytes[2 * i + 1] = g & 0xff;
  });
  return bytes;
}

/** `a.b.c.d/n`, `v6/n`, or a bare address (a single-address block). */
export function parseCidr(text: string): Cidr | undefined {
  const [addr, prefix, extra] = text.split("/");
  if (addr === undefined || extra !== undefined) return undefined;
  const bytes = parseIp(addr);
  if (bytes === undefined) return undefined;
  const max = bytes.length * 8;
  if (prefix === undefined) return { bytes, bits: max };
  if (!/^\d{1,3}$/.test(prefix) || Number(prefix) > max) return undefined;
  return { bytes, bits: Number(prefix) };
}

export function inCidr(address: Uint8Array, cidr: Cidr): boolean {
  if (address.length !== cidr.bytes.length) return false;
  for (let bit = 0; bit < cidr.bits; bit++) {
    const mask = 0x80 >> (bit % 8);
    const i = Math.floor(bit / 8);
    if (((address[i] ?? 0) & mask) !== ((cidr.bytes[i] ?? 0) & mask)) return false;
  }
  return true;
}

const table = (rows: [string, RangeKind][]): [Cidr, RangeKind][] =>
  rows.map(([text, kind]) => {
    const cidr = parseCidr(text);
    if (cidr === undefined) throw new Error(`bad range ${text}`);
    return [cidr, kind];
  });

/** First match wins, so single metadata addresses come before the blocks that contain them. */
const V4_RANGES = table([
  ["169.254.169.254/32", "metadata"], // AWS, GCP, Azure, OpenStack instance metadata
  ["169.254.170.2/32", "metadata"], // AWS ECS task metadata
  ["100.100.100.200/32", "metadata"], // Alibaba Cloud
  ["192.0.0.192/32", "metadata"], // Oracle Cloud
  ["168.63.129.16/32", "metadata"], // Azure wire server (a public address)
  ["0.0.0.0/8", "unspecified"],
  ["10.0.0.0/8", "private"],
  ["100.64.0.0/10", "carrier_grade_nat"],
  ["127.0.0.0/8", "loopback"],
  ["169.254.0.0/16", "link_local"],
  ["172.16.0.0/12", "private"],
  ["192.0.0.0/24", "reserved"],
  ["192.0.2.0/24", "documentation"],
  ["192.88.99.0/24", "reserved"],
  ["192.168.0.0/16", "private"],
  ["198.18.0.0/15", "benchmarking"],
  ["198.51.100.0/24", "documentation"],
  ["203.0.113.0/24", "documentation"],
  ["224.0.0.0/4", "multicast"],
  ["240.0.0.0/4", "reserved"], // includes the broadcast address 255.255.255.255
]);

const V6_RANGES = table([
  ["fd00:ec2::254/128", "metadata"], // AWS instance metadata over IPv6
  ["::/128", "unspecified"],
  ["::1/128", "loopback"],
  ["::/96", "reserved"], // IPv4-compatible addresses, deprecated (RFC 4291 §2.5.5.1)
  ["64:ff9b:1::/48", "private"], // local-use NAT64 (RFC 8215)
  ["100::/64", "reserved"], // discard-only
  ["2001:db8::/32", "documentation"],
  ["2001::/32", "reserved"], // Teredo: its IPv4 part is obfuscated, so it cannot be judged
  ["fc00::/7", "unique_local"],
  ["fe80::/10", "link_local"],
  ["fec0::/10", "private"], // site-local, deprecated
  ["ff00::/8", "multicast"],
]);

const MAPPED = parseCidr("::ffff:0:0/96") as Cidr;
const NAT64 = parseCidr("64:ff9b::/96") as Cidr;
const SIX_TO_FOUR = parseCidr("2002::/16") as Cidr;

/** The IPv4 address an IPv6 address stands for, when it embeds one. */
export function embeddedIpv4(address: Uint8Array): Uint8Array | undefined {
  if (address.length !== 16) return undefined;
  if (inCidr(address, MAPPED) || inCidr(address, NAT64)) return address.slice(12, 16);
  if (inCidr(address, SIX_TO_FOUR)) return address.slice(2, 6);
  return undefined;
}

/** The special range an address falls in; undefined for an ordinary public address. */
export function classifyIp(address: Uint8Array): RangeKind | undefined {
  const v4 = address.length === 4 ? address : embeddedIpv4(address);
  const ranges = v4 !== undefined ? V4_RANGES : V6_RANGES;
  const subject = v4 ?? address;
  return ranges.find(([cidr]) => inCidr(subject, cidr))?.[1];
}

const HOST_NAME =
  /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/;

/** Lower-case, without a trailing dot: how host names are compared. */
export function normalizeHost(host: string): string {
  return host.toLowerCase().replace(/\.$/, "");
}

/** Whether `text` is a valid `webhooks_allow_private` entry: a CIDR block or a host name. */
export function isAllowEntry(text: string): boolean {
  return parseCidr(text) !== undefined || (HOST_NAME.test(normalizeHost(text)) && !/^[\d.]+$/.test(text));
}

/**
 * Whether the allow-list opens `address` (reached through the URL host `host`): a CIDR entry
 * containing it (or the IPv4 address it embeds), or a host-name entry equal to `host`. Kinds in
 * NEVER_ALLOWED are never opened.
 */
export function isAllowed(address: Uint8Array, host: string, allow: readonly string[]): boolean {
  const kind = classifyIp(address);
  if (kind !== undefined && NEVER_ALLOWED.has(kind)) return false;
  const v4 = embeddedIpv4(address);
  const name = normalizeHost(host);
  return allow.some((entry) => {
    const cidr = parseCidr(entry);
    if (cidr === undefined) return normalizeHost(entry) === name;
    return inCidr(address, cidr) || (v4 !== undefined && inCidr(v4, cidr));
  });
}

/** Canonical text of an address, for messages and delivery records. */
export function formatIp(address: Uint8Array): string {
  if (address.length === 4) return address.join(".");
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2)
    groups.push((((address[i] ?? 0) << 8) | (address[i + 1] ?? 0)).toString(16));
  return groups.join(":").replace(/(^|:)0(:0)+(:|$)/, "::");
}
