import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { test } from "node:test";
import { V8_FLAGS } from "./v8-tuning.ts";

// V8 only prints a warning for a flag it does not know, so a flag renamed by a Node upgrade
// would quietly stop applying: each must be one this Node's V8 lists.
test("every V8 flag dbward sets is one this Node's V8 knows", () => {
  const known = execFileSync(process.execPath, ["--v8-options"], { encoding: "utf8" });
  for (const flag of V8_FLAGS) {
    const name = flag.replace(/^--/, "").replace(/=.*$/, "");
    assert.match(known, new RegExp(`^\\s+--${name.replace(/-/g, "[-_]")}\\b`, "m"), flag);
  }
});
