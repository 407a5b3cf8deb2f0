import assert from "node:assert/strict";
import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, test } from "node:test";
import { parse } from "yaml";
import {
  manifestPath,
  URL_PLACEHOLDER,
  eventsUrl,
  renderManifest,
  renderSocketModeManifest,
} from "./manifest.ts";
import { NON_API_SCOPES, SLACK_METHOD_SCOPES } from "./slack-api.ts";

interface Manifest {
  oauth_config: { scopes: { bot: string[] } };
  features: {
    slash_commands: { command: string; url: string }[];
    app_home: { home_tab_enabled: boolean; messages_tab_enabled: boolean };
  };
  settings: {
    interactivity: { is_enabled: boolean; request_url: string };
    event_subscriptions: { request_url: string; bot_events: string[] };
  };
}

const manifest = (text = readFileSync(manifestPath(), "utf8")): Manifest => parse(text) as Manifest;

/** Every `"<family>.<method>"` literal in the adapter's sources that names a Slack Web API method. */
function methodLiteralsInSources(): string[] {
  const dir = fileURLToPath(new URL(".", import.meta.url));
  const files = (d: string): string[] =>
    readdirSync(d, { withFileTypes: true }).flatMap((e) =>
      e.isDirectory()
        ? files(join(d, e.name))
        : e.name.endsWith(".ts") && !e.name.endsWith(".test.ts")
          ? [join(d, e.name)]
          : [],
    );
  const families =
    /"((?:chat|conversations|views|files|users|reactions|pins|apps|bots|dnd|emoji|usergroups)\.[A-Za-z]+)"/g;
  return [
    ...new Set(
      files(dir).flatMap((f) => [...readFileSync(f, "utf8").matchAll(families)].map((m) => m[1] ?? "")),
    ),
  ];
}

describe("manifest.yml", () => {
  test("grants a scope for every Web API method the code calls, and no scope it does not use", () => {
    const granted = new Set(manifest().oauth_config.scopes.bot);
    for (const [method, scopes] of Object.entries(SLACK_METHOD_SCOPES)) {
      for (const scope of scopes) assert.ok(granted.has(scope), `${method} needs ${scope}`);
    }
    const needed = new Set<string>([...Object.values(SLACK_METHOD_SCOPES).flat(), ...NON_API_SCOPES]);
    assert.deepEqual([...granted].sort(), [...needed].sort());
  });

  test("lists every method named anywhere in the adapter in the method table", () => {
    const named = methodLiteralsInSources();
    assert.ok(named.length > 0);
    for (const m of named)
      assert.ok(m in SLACK_METHOD_SCOPES, `${m} is called but not in SLACK_METHOD_SCOPES`);
  });

  test("declares /dbward, interactivity and the Home tab's event at the Slack endpoint", () => {
    const m = manifest();
    assert.deepEqual(
      m.features.slash_commands.map((c) => [c.command, c.url]),
      [["/dbward", URL_PLACEHOLDER]],
    );
    assert.equal(m.settings.interactivity.is_enabled, true);
    assert.equal(m.settings.interactivity.request_url, URL_PLACEHOLDER);
    assert.equal(m.settings.event_subscriptions.request_url, URL_PLACEHOLDER);
    assert.deepEqual(m.settings.event_subscriptions.bot_events, ["app_home_opened"]);
    assert.equal(m.features.app_home.home_tab_enabled, true);
    assert.equal(m.features.app_home.messages_tab_enabled, true, "dbward's DMs arrive in the Messages tab");
  });

  test("renders with the bot's address filled in everywhere", () => {
    const m = manifest(renderManifest("https://dbward.example.com/"));
    assert.equal(m.settings.interactivity.request_url, "https://dbward.example.com/slack/events");
    assert.equal(m.features.slash_commands[0]?.url, "https://dbward.example.com/slack/events");
    assert.equal(m.settings.event_subscriptions.request_url, "https://dbward.example.com/slack/events");
    assert.equal(eventsUrl("https://x.example/slack/events"), "https://x.example/slack/events");
    assert.throws(() => eventsUrl("http://dbward.example.com"), /https/);
    assert.throws(() => eventsUrl("not a url"), /--url/);
  });

  test("for Socket Mode turns sockets on, names no URL, and keeps the same scopes and events", () => {
    const text = renderSocketModeManifest();
    assert.doesNotMatch(text, /https?:\/\/|<host>|request_url|\burl:/);
    const socket = parse(text) as Manifest & { settings: { socket_mode_enabled: boolean } };
    const http = parse(renderManifest("https://dbward.example.com")) as Manifest;
    assert.equal(socket.settings.socket_mode_enabled, true);
    assert.deepEqual(socket.oauth_config, http.oauth_config);
    assert.deepEqual(
      socket.settings.event_subscriptions.bot_events,
      http.settings.event_subscriptions.bot_events,
    );
    assert.equal(socket.settings.interactivity.is_enabled, true);
    assert.deepEqual(
      socket.features.slash_commands.map((c) => c.command),
      http.features.slash_commands.map((c) => c.command),
    );
    assert.match(text, /connections:write/);
  });
});
