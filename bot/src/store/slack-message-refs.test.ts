import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { openStore } from "./open-store.ts";
import { storeMessageRefs } from "./slack-message-refs.ts";

describe("Slack message locations in the store", () => {
  const dir = mkdtempSync(join(tmpdir(), "dbward-refs-"));
  after(() => rmSync(dir, { recursive: true, force: true }));

  test("survive reopening the store, so a restarted bot redraws instead of reposting", async () => {
    const first = openStore(dir);
    const refs = storeMessageRefs(first);
    await refs.savePost(7, { channel: "C1", ts: "1.1" });
    await refs.saveDm(7, "bob", { channel: "D1", ts: "2.2" });
    await refs.saveDm(7, "carol", { channel: "D2", ts: "3.3" });
    await first.destroy();

    const second = openStore(dir);
    const again = storeMessageRefs(second);
    assert.deepEqual(await again.post(7), { channel: "C1", ts: "1.1" });
    assert.deepEqual(
      [...(await again.dms(7)).entries()],
      [
        ["bob", { channel: "D1", ts: "2.2" }],
        ["carol", { channel: "D2", ts: "3.3" }],
      ],
    );
    assert.equal(await again.post(8), undefined);
    await second.destroy();
  });

  test("a later save for the same message replaces the earlier one", async () => {
    const store = openStore(dir);
    const refs = storeMessageRefs(store);
    await refs.savePost(9, { channel: "C1", ts: "1.0" });
    await refs.savePost(9, { channel: "C1", ts: "1.5" });
    assert.deepEqual(await refs.post(9), { channel: "C1", ts: "1.5" });
    await store.destroy();
  });
});
