import assert from "node:assert/strict";
import { test } from "node:test";
import { maskingProblems, maskingSchema } from "./masking-config.ts";

const ok = { database: "shop", environment: "production", table: "users", column: "email", mode: "full" };

test("refuses unknown keys, unknown modes and kept characters outside partial", () => {
  for (const bad of [
    { policies: [{ ...ok, colour: "red" }] },
    { policies: [{ ...ok, mode: "rot13" }] },
    { policies: [{ ...ok, keep_leading: 2 }] },
    { policies: [{ ...ok, mode: "partial" }] },
    { policies: [{ ...ok, table: "public.users" }] },
    { policies: [{ ...ok, clear_for: { teams: ["x"] } }] },
    { rules: [] },
  ])
    assert.equal(maskingSchema.safeParse(bad).success, false, JSON.stringify(bad));
  assert.ok(maskingSchema.safeParse({ policies: [{ ...ok, mode: "partial", keep_trailing: 4 }] }).success);
});

test("reports a policy naming a database or environment the config does not have", () => {
  const masking = maskingSchema.parse({
    policies: [ok, { ...ok, database: "shpo" }, { ...ok, environment: "prod" }],
  });
  assert.deepEqual(maskingProblems(masking, [{ name: "shop", environments: ["production"] }]), [
    "masking.policies.1.database: unknown database shpo",
    "masking.policies.2.environment: database shop has no environment prod",
  ]);
});
