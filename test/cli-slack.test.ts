import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { EXIT } from "../cli/src/exit-codes.ts";
import { main } from "../cli/src/main.ts";
import { captureOutput } from "./support/capture-output.ts";

describe("dbward slack manifest", () => {
  test("fills the bot's URL into the slash command, event and interactivity request URLs", async () => {
    const out = captureOutput();
    assert.equal(await main(["slack", "manifest", "--url", "https://dbward.example.com/"], {}, out), EXIT.ok);
    const text = out.stdout.join("\n");
    assert.equal(text.match(/https:\/\/dbward\.example\.com\/slack\/events/g)?.length, 3);
    const settings = text.split("\n").filter((l) => !l.trimStart().startsWith("#"));
    assert.ok(!settings.some((l) => l.includes("<host>")), "no placeholder is left outside comments");
  });

  test("refuses a plain http URL, since Slack only calls https", async () => {
    const out = captureOutput();
    assert.equal(
      await main(["slack", "manifest", "--url", "http://dbward.example.com"], {}, out),
      EXIT.usage,
    );
    assert.match(out.stderr.join("\n"), /https/);
  });
});
