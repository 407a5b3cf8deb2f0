import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { DbwardError } from "@dbward/shared";
import { parseSlackSettings } from "./slack-settings.ts";

const FULL = {
  SLACK_SIGNING_SECRET: "s3cret",
  SLACK_BOT_TOKEN: "xoxb-1-2-3",
  SLACK_BOT_ID: "B0123ABC",
  SLACK_BOT_USER_ID: "U0123ABC",
};

describe("Slack settings from the environment", () => {
  test("are absent when neither secret is set: the bot runs API-only", () => {
    assert.equal(parseSlackSettings({}), undefined);
  });

  test("read every variable, with Slack's own API as the default", () => {
    const s = parseSlackSettings(FULL);
    assert.equal(s?.apiUrl, "https://slack.com/api/");
    assert.equal(s?.botToken.reveal(), "xoxb-1-2-3");
    assert.equal(
      JSON.stringify(s),
      JSON.stringify({ ...s, signingSecret: "[redacted]", botToken: "[redacted]" }),
    );
    assert.ok(!JSON.stringify(s).includes("s3cret"));
  });

  test("name every missing or bad variable at once", () => {
    assert.throws(
      () =>
        parseSlackSettings({ SLACK_BOT_TOKEN: "xoxp-user", SLACK_API_URL: "http://slack.example.com/api" }),
      (err: unknown) => {
        assert.ok(err instanceof DbwardError && err.code === "config.invalid");
        for (const name of [
          "SLACK_SIGNING_SECRET",
          "bot token",
          "SLACK_BOT_ID",
          "SLACK_BOT_USER_ID",
          "https",
        ]) {
          assert.ok(err.message.includes(name), name);
        }
        return true;
      },
    );
  });

  test("accept a plain-http API URL only on loopback", () => {
    assert.equal(
      parseSlackSettings({ ...FULL, SLACK_API_URL: "http://127.0.0.1:9999/api" })?.apiUrl,
      "http://127.0.0.1:9999/api/",
    );
  });

  test("in Socket Mode need the app-level token, not the signing secret, and keep it redacted", () => {
    const rest = Object.fromEntries(Object.entries(FULL).filter(([k]) => k !== "SLACK_SIGNING_SECRET"));
    const s = parseSlackSettings({ ...rest, SLACK_APP_TOKEN: "xapp-1-A0-123-abc" }, "socket");
    assert.equal(s?.mode, "socket");
    assert.ok(s?.mode === "socket" && s.appToken.reveal() === "xapp-1-A0-123-abc");
    assert.ok(!JSON.stringify(s).includes("xapp-1"));
  });

  test("in Socket Mode refuse a bot token where the app token belongs, saying which it is", () => {
    assert.throws(
      () => parseSlackSettings({ ...FULL, SLACK_APP_TOKEN: "xoxb-9-9-9" }, "socket"),
      /SLACK_APP_TOKEN must be an app-level token \(xapp-…\) with the connections:write scope; this is a bot token/,
    );
    assert.throws(() => parseSlackSettings({ ...FULL }, "socket"), /SLACK_APP_TOKEN is not set/);
  });
});
