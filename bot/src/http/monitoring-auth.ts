/**
 * Who may read `/metrics` and `/api/agents`: a scraper holding the monitoring token
 * (DBWARD_METRICS_TOKEN, sent as a bearer token), or an operator or admin with their API token.
 *
 * Not "loopback only": behind a reverse proxy on the same host every request arrives from
 * loopback, so an address rule would publish the metrics to whoever reaches the proxy. A token
 * works the same behind any proxy. Unset, only operators and admins can read the metrics.
 *
 * The token is compared as SHA-256 digests with timingSafeEqual (SECURITY.md: forged API token);
 * a wrong one falls through to user authentication, which refuses and audits it like any other.
 */
import { createHash, timingSafeEqual } from "node:crypto";
import { DbwardError } from "@dbward/shared";
import type { Request } from "express";
import type { BotContext } from "../use-cases/bot-context.ts";
import { authenticateUser } from "./authenticate.ts";

export const METRICS_TOKEN_ENV = "DBWARD_METRICS_TOKEN";
export const MIN_METRICS_TOKEN_LENGTH = 32;

export class MonitoringToken {
  readonly #digest: Buffer;
  constructor(secret: string) {
    this.#digest = digest(secret);
  }
  matches(candidate: string): boolean {
    return timingSafeEqual(this.#digest, digest(candidate));
  }
  toString(): string {
    return "[redacted]";
  }
  toJSON(): string {
    return "[redacted]";
  }
}

function digest(text: string): Buffer {
  return createHash("sha256").update(text, "utf8").digest();
}

/** The monitoring token from the environment; a short one stops the bot at start. */
export function parseMonitoringToken(
  env: Readonly<Record<string, string | undefined>>,
): MonitoringToken | undefined {
  const value = env[METRICS_TOKEN_ENV]?.trim();
  if (value === undefined || value === "") return undefined;
  if (value.length < MIN_METRICS_TOKEN_LENGTH || !/^[\x21-\x7e]+$/.test(value)) {
    throw new DbwardError(
      "config.invalid",
      `${METRICS_TOKEN_ENV} must be at least ${MIN_METRICS_TOKEN_LENGTH} printable characters without spaces; generate one with: openssl rand -base64 32`,
    );
  }
  return new MonitoringToken(value);
}

export type MonitoringCaller =
  { readonly kind: "monitoring" } | { readonly kind: "user"; readonly id: string };

export async function authenticateMonitoring(
  ctx: BotContext,
  req: Request,
  token: MonitoringToken | undefined,
): Promise<MonitoringCaller> {
  const bearer = /^Bearer ([\x21-\x7e]{1,512})$/.exec(req.get("authorization") ?? "")?.[1];
  if (token !== undefined && bearer !== undefined && token.matches(bearer)) return { kind: "monitoring" };
  const caller = await authenticateUser(ctx, req);
  // Operators and admins watch the system; requesters and approvers need not see its agents.
  if (!caller.user.roles.some((r) => r === "operator" || r === "admin")) {
    throw new DbwardError("auth.forbidden", "only the monitoring token, operators and admins may read this");
  }
  return { kind: "user", id: caller.user.id };
}
