/**
 * `dbward slack manifest --url https://dbward.example.com`: the repository's manifest.yml with
 * the bot's public address filled in, ready to paste into Slack's "create from manifest".
 */
import { readFileSync } from "node:fs";
import { DbwardError } from "@dbward/shared";
import { SLACK_EVENTS_PATH } from "./ids.ts";

export const MANIFEST_PATH = new URL("../../../manifest.yml", import.meta.url);
export const URL_PLACEHOLDER = "https://<host>/slack/events";

/** The manifest with every request URL pointing at `url` (a base address or the full endpoint). */
export function renderManifest(url: string): string {
  return readFileSync(MANIFEST_PATH, "utf8").replaceAll(URL_PLACEHOLDER, eventsUrl(url));
}

/** `https://host[/prefix]` → `https://host[/prefix]/slack/events`; only https, no query or fragment. */
export function eventsUrl(url: string): string {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new DbwardError(
      "request.invalid",
      `--url must be an address such as https://dbward.example.com, not ${url}`,
    );
  }
  if (u.protocol !== "https:" || u.search !== "" || u.hash !== "" || u.username !== "" || u.password !== "") {
    throw new DbwardError(
      "request.invalid",
      "--url must be a plain https:// address: Slack only calls https",
    );
  }
  const base = u.href.replace(/\/+$/, "");
  return base.endsWith(SLACK_EVENTS_PATH) ? base : `${base}${SLACK_EVENTS_PATH}`;
}
