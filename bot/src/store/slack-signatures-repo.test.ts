import assert from "node:assert/strict";
import { test } from "node:test";
import { describeEachStoreDialect } from "./each-store-dialect-testing.ts";
import { forgetExpiredSignatures, isFirstSignature } from "./slack-signatures-repo.ts";

describeEachStoreDialect("remembering accepted Slack signatures (T-REPLAY)", (store) => {
  const at = (s: number) => new Date(Date.UTC(2030, 0, 1, 0, 0, s));

  test("the first insert of a signature wins; a second is a replay", async () => {
    assert.equal(await isFirstSignature(store(), "v0=a", at(300)), true);
    assert.equal(await isFirstSignature(store(), "v0=a", at(400)), false);
    assert.equal(await isFirstSignature(store(), "v0=b", at(300)), true);
  });

  test("concurrent inserts of one signature: exactly one wins", async () => {
    const wins = await Promise.all(
      Array.from({ length: 8 }, () => isFirstSignature(store(), "v0=race", at(300))),
    );
    assert.equal(wins.filter(Boolean).length, 1);
  });

  test("pruning forgets only the signatures whose window has passed", async () => {
    await isFirstSignature(store(), "v0=old", at(10));
    await isFirstSignature(store(), "v0=live", at(900));
    await forgetExpiredSignatures(store(), at(600));
    const left = await store().selectFrom("slack_signatures_seen").select("signature").execute();
    const names = left.map((r) => r.signature);
    assert.ok(!names.includes("v0=old"));
    assert.ok(names.includes("v0=live"));
  });
});
