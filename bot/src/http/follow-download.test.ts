import assert from "node:assert/strict";
import { test } from "node:test";
import { DbwardError } from "@dbward/shared";
import { Followers, MAX_FOLLOWERS, MAX_FOLLOWERS_PER_USER } from "./follow-download.ts";

const limited = (err: unknown): boolean => err instanceof DbwardError && err.code === "rate.limited";

test("at most MAX_FOLLOWERS_PER_USER follows per person, MAX_FOLLOWERS in all; a slot given back is free again", () => {
  const f = new Followers();
  for (let i = 0; i < MAX_FOLLOWERS_PER_USER; i += 1) f.take("alice");
  assert.throws(
    () => f.take("alice"),
    (err: unknown) => limited(err) && /you follow 4 results/.test(String(err)),
  );
  f.give("alice");
  f.take("alice");
  // Everyone else fills the rest, one person at a time.
  const users = Array.from({ length: MAX_FOLLOWERS - MAX_FOLLOWERS_PER_USER }, (_, i) => `u${i}`);
  for (const u of users) f.take(u);
  assert.throws(
    () => f.take("bob"),
    (err: unknown) => limited(err) && /this bot has 32 readers/.test(String(err)),
  );
  f.give("u0");
  f.take("bob");
  assert.throws(() => f.take("carol"), limited);
});
