import assert from "node:assert/strict";
import { test } from "node:test";
import { isMaskClaim, isSignedMask, MAX_SIGNED_MASKS, type SignedMask } from "./mask-claim.ts";

const OK: SignedMask = {
  schema: "public",
  table: "users",
  column: "email",
  mode: "partial",
  keep_leading: 1,
  keep_trailing: 4,
};

test("accepts well-formed masks and refuses every other shape", () => {
  assert.ok(isSignedMask(OK));
  assert.ok(isSignedMask({ ...OK, schema: null, mode: "hash", keep_leading: 0, keep_trailing: 0 }));
  for (const bad of [
    { ...OK, mode: "rot13" },
    { ...OK, mode: "full" },
    { ...OK, keep_leading: 0, keep_trailing: 0 },
    { ...OK, keep_leading: 1.5 },
    { ...OK, keep_trailing: -1 },
    { ...OK, table: "" },
    { ...OK, column: "x".repeat(129) },
    { ...OK, extra: true },
    { schema: null, table: "users", column: "email", mode: "null", keep_leading: 0 },
    null,
    [OK],
  ])
    assert.equal(isSignedMask(bad), false, JSON.stringify(bad));
});

test("a claim is a non-empty list of at most MAX_SIGNED_MASKS masks", () => {
  assert.ok(isMaskClaim([OK]));
  assert.equal(isMaskClaim([]), false);
  assert.equal(isMaskClaim(Array.from({ length: MAX_SIGNED_MASKS + 1 }, () => OK)), false);
  assert.equal(isMaskClaim([OK, "users.email"]), false);
});
