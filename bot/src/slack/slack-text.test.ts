import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { chunk, escapeMrkdwn, splitLeadingQuote, sqlFromCommandText, sqlFromInput } from "./slack-text.ts";

describe("undoing Slack's formatting of typed SQL", () => {
  test("decodes the three entities Slack escapes, once", () => {
    assert.equal(
      sqlFromCommandText("SELECT 1 WHERE a &lt; 2 AND b &gt; 3 AND c = 'x &amp;lt; y'"),
      "SELECT 1 WHERE a < 2 AND b > 3 AND c = 'x &lt; y'",
    );
  });

  test("turns mailto and web auto-links back into the text that was typed", () => {
    assert.equal(
      sqlFromCommandText("SELECT * FROM users WHERE email = '<mailto:ann@example.com|ann@example.com>'"),
      "SELECT * FROM users WHERE email = 'ann@example.com'",
    );
    assert.equal(
      sqlFromCommandText("UPDATE sites SET url = '<https://example.com/a?b=1&amp;c=2>' WHERE id = 1"),
      "UPDATE sites SET url = 'https://example.com/a?b=1&c=2' WHERE id = 1",
    );
    assert.equal(sqlFromCommandText("SELECT '<http://example.com|example.com>'"), "SELECT 'example.com'");
  });

  test("straightens curly quotes and removes no-break spaces", () => {
    assert.equal(sqlFromCommandText("SELECT \u2018a\u2019,\u00a0\u201cb\u201d"), "SELECT 'a', \"b\"");
  });

  test("removes a code fence with or without a language tag", () => {
    assert.equal(sqlFromCommandText("```sql\nSELECT 1\n```"), "SELECT 1");
    assert.equal(sqlFromCommandText("```SELECT 1```"), "SELECT 1");
    assert.equal(sqlFromInput("`SELECT 1`"), "SELECT 1");
  });

  test("keeps line breaks and inner spacing exactly", () => {
    assert.equal(sqlFromCommandText("SELECT a,\n       b\nFROM t"), "SELECT a,\n       b\nFROM t");
  });

  test("leaves entity-looking text alone in modal input, which Slack does not escape", () => {
    assert.equal(sqlFromInput("SELECT '&lt;'"), "SELECT '&lt;'");
  });
});

describe("text helpers", () => {
  test("escapes mrkdwn control characters", () => {
    assert.equal(escapeMrkdwn("a < b & c > d"), "a &lt; b &amp; c &gt; d");
  });

  test("splits long text into bounded pieces that join back to the original", () => {
    const text = Array.from({ length: 200 }, (_, i) => `line ${i}`).join("\n");
    const pieces = chunk(text, 100);
    assert.ok(pieces.every((p) => p.length <= 100));
    assert.equal(pieces.join(""), text);
  });

  test("reads a leading quoted reason, straight or curly", () => {
    assert.deepEqual(splitLeadingQuote('"fix order 7" UPDATE t'), {
      quoted: "fix order 7",
      rest: "UPDATE t",
    });
    assert.deepEqual(splitLeadingQuote("\u201cfix it\u201d SELECT 1"), {
      quoted: "fix it",
      rest: "SELECT 1",
    });
    assert.equal(splitLeadingQuote("SELECT '\"x\"'"), undefined);
  });
});
