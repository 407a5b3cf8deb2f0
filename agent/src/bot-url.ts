/**
 * The rules for the bot's URL (SECURITY.md, operational hardening): the agent sends its bearer
 * token on every call and trusts the jobs it gets back only as far as their signatures, so the
 * channel must be TLS unless it never leaves the machine. Plain `http://` is accepted for a
 * loopback host (127.0.0.0/8, ::1, localhost) and otherwise only with `allow_insecure: true`.
 */
import { isIPv4 } from "node:net";

/** True for `localhost`, any 127.0.0.0/8 address and `::1`, as the WHATWG URL parser spells them. */
export function isLoopbackHost(hostname: string): boolean {
  if (hostname === "localhost" || hostname === "[::1]") return true;
  // The URL parser has already normalised forms like `127.1` and `0x7f.0.0.1` to dotted quads.
  return isIPv4(hostname) && hostname.split(".")[0] === "127";
}

/** Why `text` is not an acceptable bot URL, or undefined when it is. */
export function botUrlProblem(text: string, allowInsecure: boolean): string | undefined {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return "must be an absolute URL such as https://dbward.example.com";
  }
  if (url.protocol !== "https:" && url.protocol !== "http:")
    return "must use https:// (or http:// on loopback)";
  if (url.username !== "" || url.password !== "") {
    return "must not contain credentials; the agent token comes from token_env";
  }
  if (url.search !== "" || url.hash !== "") return "must not have a query string or fragment";
  if (url.protocol === "http:" && !allowInsecure && !isLoopbackHost(url.hostname)) {
    return (
      `plain http:// to ${url.hostname} would send the agent token unencrypted; ` +
      "use https://, or set allow_insecure: true if a trusted network really requires it"
    );
  }
  return undefined;
}

/** The URL of an API path under the bot's base URL, keeping any path prefix of the base. */
export function botEndpoint(botUrl: string, path: string): string {
  return `${botUrl.replace(/\/+$/, "")}${path}`;
}
