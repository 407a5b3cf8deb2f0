import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { withHints } from "./usage-hints.ts";

const REQUEST = { commands: ["create", "list", "show", "wait"], options: ["help", "json", "url", "token"] };
const WAIT = { commands: [], options: ["help", "json", "url", "token", "timeout", "data-dir", "id"] };

describe("withHints", () => {
  test("adds the command probably meant for an unknown word", () => {
    assert.equal(
      withHints("Unknown argument: lsit", REQUEST, ["request", "lsit"]),
      "Unknown argument: lsit\n`lsit`: did you mean `list`?",
    );
  });

  test("adds the flag probably meant for an unknown flag, in either spelling of a value", () => {
    const hint = "`--tiemout`: did you mean `--timeout`?";
    assert.ok(withHints("Unknown argument: tiemout", WAIT, ["wait", "1", "--tiemout", "5"]).endsWith(hint));
    assert.ok(withHints("Unknown argument: tiemout", WAIT, ["wait", "1", "--tiemout=5"]).endsWith(hint));
  });

  test("names a mistyped flag whatever yargs complained about first", () => {
    assert.equal(
      withHints("Missing required argument: id", WAIT, ["wait", "--jsno"]),
      "Missing required argument: id\n`--jsno`: did you mean `--json`?",
    );
  });

  test("leaves known flags, their negations and camelCase spellings alone", () => {
    const argv = ["wait", "--no-json", "--timeout", "5", "--url=x", "--dataDir", "d"];
    assert.equal(withHints("Not enough non-option arguments", WAIT, argv), "Not enough non-option arguments");
  });

  test("leaves what follows -- alone, and a message with nothing close unchanged", () => {
    assert.equal(
      withHints("Unknown argument: zzz", REQUEST, ["zzz", "--", "--jsno"]),
      "Unknown argument: zzz",
    );
    assert.equal(withHints("Unknown argument: x", undefined, ["x"]), "Unknown argument: x");
  });
});
