import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { DbwardError } from "@dbward/shared";
import { messageForError } from "./error-messages.ts";

describe("errors as Slack users read them", () => {
  test("say what went wrong and what to do next", () => {
    const m = messageForError(
      new DbwardError("request.self_approval", "you cannot approve or reject your own request"),
      "ref-1",
    );
    assert.equal(
      m,
      "You cannot approve or reject your own request. Someone else has to decide on your request.",
    );
  });

  test("give a reference instead of internals for unexpected errors", () => {
    const m = messageForError(new Error("SQLITE_BUSY at /var/lib/dbward"), "ref-x1");
    assert.doesNotMatch(m, /SQLITE|var\/lib/);
    assert.match(m, /ref-x1/);
  });
});
