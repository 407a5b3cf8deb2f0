/**
 * Validation of user fields coming from admins (API, Slack modals), join requests and identity
 * providers. Each parser returns the clean value or throws `request.invalid` naming the field.
 */
import { DbwardError, NAME_RULE, parseUserId } from "@dbward/shared";
import { isKnownRole, type CustomRoles } from "../core/permissions.ts";

const NAME = /^[a-z0-9][a-z0-9_.-]{0,62}$/;
const SLACK_USER_ID = /^[UW][A-Z0-9]{2,20}$/;
// Deliberately loose: the address is shown to people, never used to sign anyone in.
const EMAIL = /^[^\s@]{1,64}@[^\s@]{1,255}$/;

function invalid(message: string): DbwardError {
  return new DbwardError("request.invalid", message);
}

export function parseUserIdField(value: unknown, field = "id"): string {
  const id = parseUserId(value);
  if (id === undefined) throw invalid(`${field} must be ${NAME_RULE}`);
  return id;
}

export function parseDisplayName(value: unknown): string {
  const name = typeof value === "string" ? value.trim() : "";
  if (name === "" || name.length > 100 || /[\p{Cc}]/u.test(name))
    throw invalid("name must be 1-100 printable characters");
  return name;
}

export function parseEmail(value: unknown): string | null {
  if (value === null || value === undefined || value === "") return null;
  if (typeof value !== "string" || !EMAIL.test(value))
    throw invalid("email must be an address such as ada@example.com");
  return value;
}

export function parseSlackUserId(value: unknown): string | null {
  if (value === null || value === undefined || value === "") return null;
  if (typeof value !== "string" || !SLACK_USER_ID.test(value))
    throw invalid("slack_user_id must be a Slack user id such as U0123ABCD");
  return value;
}

export function parseOidcSubject(value: unknown): string | null {
  if (value === null || value === undefined || value === "") return null;
  if (typeof value !== "string" || value.length < 3 || value.length > 600 || !value.includes("#"))
    throw invalid("oidc_subject must be <issuer>#<sub>, as the auth.failed audit event shows it");
  return value;
}

export function parseRoles(
  value: unknown,
  custom: CustomRoles,
  opts: { allowEmpty?: boolean } = {},
): string[] {
  if (!Array.isArray(value) || value.length > 20 || (value.length === 0 && opts.allowEmpty !== true))
    throw invalid("roles must be a list of 1-20 role names");
  const unknown = value.filter((r) => typeof r !== "string" || !isKnownRole(r, custom));
  if (unknown.length > 0) throw invalid(`unknown role ${unknown.map(String).join(", ")}`);
  return [...new Set(value as string[])].sort();
}

export function parseGroups(value: unknown): string[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value) || value.length > 50)
    throw invalid("groups must be a list of at most 50 group names");
  const bad = value.filter((g) => typeof g !== "string" || !NAME.test(g));
  if (bad.length > 0) throw invalid(`group names must be ${NAME_RULE}: ${bad.map(String).join(", ")}`);
  return [...new Set(value as string[])].sort();
}

/**
 * A user id made from free text (a preferred username, an email's local part, a display name):
 * lower-cased, other characters turned into `-`. Undefined when nothing usable is left.
 */
export function userIdFrom(text: string): string | undefined {
  const id = text
    .normalize("NFKD")
    .replace(/[\u0300-\u036f]/g, "")
    .toLowerCase()
    .replace(/[^a-z0-9_.-]+/g, "-")
    .replace(/^[^a-z0-9]+/, "")
    .slice(0, 63)
    .replace(/[-.]+$/, "");
  return NAME.test(id) ? id : undefined;
}
