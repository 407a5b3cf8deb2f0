/**
 * Decides, at send time and after DNS resolution, which address a webhook may connect to
 * (SECURITY.md: webhook SSRF). The caller connects to exactly the address returned here (see
 * send-webhook.ts), never resolving the name again, so a DNS answer that changes between the
 * check and the connection (DNS rebinding) cannot slip past.
 *
 * Rules: only http: and https:; no user name or password in the URL; every address the name
 * resolves to must be allowed (one refused address refuses the destination, so a round-robin
 * answer cannot be used to reach an internal host some of the time).
 */
import { lookup as dnsLookup } from "node:dns/promises";
import { NEVER_ALLOWED, classifyIp, formatIp, isAllowed, parseIp, type RangeKind } from "./ip-ranges.ts";

/** Resolves a host name to all its addresses (injected in tests; the system resolver otherwise). */
export type Lookup = (hostname: string) => Promise<readonly { address: string; family: number }[]>;

export const systemLookup: Lookup = (hostname) => dnsLookup(hostname, { all: true, verbatim: true });

export type Destination =
  | { readonly ok: true; readonly url: URL; readonly address: string; readonly family: 4 | 6 }
  /** `refused`: never to be sent, not retried. `unresolvable`: DNS failed; a later attempt may work. */
  | { readonly ok: false; readonly kind: "refused" | "unresolvable"; readonly reason: string };

export interface GuardOptions {
  readonly lookup: Lookup;
  /** `webhooks_allow_private` entries. */
  readonly allowPrivate: readonly string[];
}

const refuse = (reason: string): Destination => ({ ok: false, kind: "refused", reason });

export async function checkDestination(urlText: string, o: GuardOptions): Promise<Destination> {
  if (!URL.canParse(urlText)) return refuse("the webhook URL is not a valid URL");
  const url = new URL(urlText);
  if (url.protocol !== "http:" && url.protocol !== "https:")
    return refuse(`scheme ${url.protocol} is not allowed; use https: or http:`);
  if (url.username !== "" || url.password !== "")
    return refuse("a webhook URL must not carry a user name or password");
  const host = url.hostname;
  const literal = parseIp(host);
  let answers: readonly { address: string; family: number }[];
  if (literal !== undefined) {
    answers = [{ address: formatIp(literal), family: literal.length === 4 ? 4 : 6 }];
  } else {
    try {
      answers = await o.lookup(host);
    } catch (err) {
      return { ok: false, kind: "unresolvable", reason: `cannot resolve ${host}: ${(err as Error).message}` };
    }
    if (answers.length === 0) return { ok: false, kind: "unresolvable", reason: `${host} has no addresses` };
  }
  for (const answer of answers) {
    const bytes = parseIp(answer.address);
    if (bytes === undefined)
      return refuse(`${host} resolved to ${answer.address}, which is not an IP address`);
    const kind = classifyIp(bytes);
    if (kind !== undefined && !isAllowed(bytes, host, o.allowPrivate)) {
      const via = literal === undefined ? `${host} resolves to ` : "";
      return refuse(
        `${via}${formatIp(bytes)}, a ${kind.replace(/_/g, "-")} address; webhooks may not reach it${allowHint(kind)}`,
      );
    }
  }
  const first = answers[0] as { address: string };
  const bytes = parseIp(first.address) as Uint8Array;
  return { ok: true, url, address: formatIp(bytes), family: bytes.length === 4 ? 4 : 6 };
}

function allowHint(kind: RangeKind): string {
  return NEVER_ALLOWED.has(kind) ? "" : " (list it in webhooks_allow_private if it is an internal receiver)";
}
