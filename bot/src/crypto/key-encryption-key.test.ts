import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { chmodSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import { kekFromEnvironment } from "./key-encryption-key.ts";

const b64 = (): string => randomBytes(32).toString("base64");

describe("the state key from the environment", () => {
  test("none set: no key, a clear store", () => {
    assert.deepEqual(kekFromEnvironment({}), { current: undefined, previous: undefined });
  });

  test("a key wraps and unwraps a data key; another key cannot unwrap it", async () => {
    const { current } = kekFromEnvironment({ DBWARD_STATE_KEY: b64() });
    const other = kekFromEnvironment({ DBWARD_STATE_KEY: b64() }).current;
    assert.ok(current !== undefined && other !== undefined);
    assert.notEqual(current.id, other.id);
    const dataKey = randomBytes(32);
    const wrapped = await current.wrap("aa", dataKey);
    assert.ok((await current.unwrap("aa", wrapped)).equals(dataKey));
    await assert.rejects(() => other.unwrap("aa", wrapped), /state\.undecryptable/);
    await assert.rejects(
      () => current.unwrap("bb", wrapped),
      /state\.undecryptable/,
      "bound to its data key id",
    );
  });

  test("the _FILE variant reads the same key; the key is never printed", () => {
    const key = b64();
    const file = join(mkdtempSync(join(tmpdir(), "dbward-kek-")), "state.key");
    writeFileSync(file, `${key}\n`, { mode: 0o600 });
    const a = kekFromEnvironment({ DBWARD_STATE_KEY: key }).current;
    const b = kekFromEnvironment({ DBWARD_STATE_KEY_PREVIOUS_FILE: file }).previous;
    assert.equal(a?.id, b?.id);
    assert.ok(!JSON.stringify(a).includes(key) && !String(a).includes(key));
  });

  test("a key that is not 32 bytes of base64, or set twice, is refused naming the variable", () => {
    assert.throws(
      () => kekFromEnvironment({ DBWARD_STATE_KEY: "short" }),
      /DBWARD_STATE_KEY must be the base64 of 32/,
    );
    assert.throws(
      () => kekFromEnvironment({ DBWARD_STATE_KEY_PREVIOUS: randomBytes(16).toString("base64") }),
      /DBWARD_STATE_KEY_PREVIOUS must be/,
    );
    assert.throws(
      () => kekFromEnvironment({ DBWARD_STATE_KEY: b64(), DBWARD_STATE_KEY_FILE: "/x" }),
      /set DBWARD_STATE_KEY or DBWARD_STATE_KEY_FILE, not both/,
    );
    assert.throws(() => kekFromEnvironment({ DBWARD_STATE_KEY_FILE: "/nonexistent/k" }), /cannot be read/);
  });

  test("a key file group or others can read is refused, naming the file and its mode", () => {
    const file = join(mkdtempSync(join(tmpdir(), "dbward-kek-")), "state.key");
    writeFileSync(file, `${b64()}\n`, { mode: 0o600 });
    chmodSync(file, 0o644);
    assert.throws(
      () => kekFromEnvironment({ DBWARD_STATE_KEY_FILE: file }),
      /config\.invalid: DBWARD_STATE_KEY_FILE \(.*state\.key\) is readable by group or others \(mode 644\); run chmod 600/,
    );
    chmodSync(file, 0o600);
    assert.ok(kekFromEnvironment({ DBWARD_STATE_KEY_FILE: file }).current !== undefined);
  });

  test("a malformed key is refused without echoing what was set", () => {
    // 32 bytes as hex (a common mistake): 64 characters that decode to 48 bytes of base64.
    const hex = randomBytes(32).toString("hex");
    assert.throws(
      () => kekFromEnvironment({ DBWARD_STATE_KEY: hex }),
      (err: Error) => /must be the base64 of 32/.test(err.message) && !err.message.includes(hex),
    );
  });
});
