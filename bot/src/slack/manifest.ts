/**
 * `dbward slack manifest --url https://dbward.example.com`: the repository's manifest.yml with
 * the bot's public address filled in, ready to paste into Slack's "create from manifest".
 */
import { readFileSync } from "node:fs";
import { DbwardError } from "@dbward/shared";
import { parseDocument } from "yaml";
import { runtimeFile } from "../runtime-files.ts";
import { SLACK_EVENTS_PATH } from "./ids.ts";

/** manifest.yml, the Slack app manifest the commands below fill in. */
export const manifestPath = (): string => runtimeFile("manifest.yml");
export const URL_PLACEHOLDER = "https://<host>/slack/events";

/** The manifest with every request URL pointing at `url` (a base address or the full endpoint). */
export function renderManifest(url: string): string {
  return readFileSync(manifestPath(), "utf8").replaceAll(URL_PLACEHOLDER, eventsUrl(url));
}

/**
 * The manifest for Socket Mode (`dbward slack manifest --socket-mode`): `socket_mode_enabled`
 * on and no request URL anywhere, since Slack reaches the bot over the sockets it opens. The
 * app-level token (`xapp-…`, scope `connections:write`) is made in the app's settings, not here.
 */
export function renderSocketModeManifest(): string {
  // The file's own leading comment is about request URLs; this one replaces it.
  const doc = parseDocument(readFileSync(manifestPath(), "utf8").replace(/^(#[^\n]*\n)+/, ""));
  doc.deleteIn(["settings", "event_subscriptions", "request_url"]);
  doc.deleteIn(["settings", "interactivity", "request_url"]);
  const commands = doc.getIn(["features", "slash_commands"]) as { items: unknown[] } | undefined;
  for (let i = 0; i < (commands?.items.length ?? 0); i += 1)
    doc.deleteIn(["features", "slash_commands", i, "url"]);
  doc.setIn(["settings", "socket_mode_enabled"], true);
  doc.commentBefore =
    " Slack app manifest for dbward in Socket Mode (slack.mode: socket; docs/slack.md).\n" +
    " No request URLs: the bot connects out. After creating the app, make an app-level token\n" +
    " with the connections:write scope (Basic Information → App-Level Tokens) and give it to the\n" +
    " bot as SLACK_APP_TOKEN.";
  return doc.toString();
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
