import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { oidcSchema } from "../config/identity-config.ts";
import { profileFromClaims } from "./oidc-claims.ts";

const cfg = oidcSchema.parse({
  issuer: "https://idp.example",
  audience: "dbward",
  client_id: "cli",
  group_mappings: [
    { group: "eng-dba", roles: ["approver"], groups: ["dba"] },
    { group: "eng", roles: ["requester"] },
  ],
});

describe("OIDC claims to a profile", () => {
  test("maps provider groups to roles and groups through the configured mappings only", () => {
    const p = profileFromClaims({ sub: "s1", groups: ["eng", "eng-dba", "other"], roles: ["admin"] }, cfg);
    assert.deepEqual(p.roles, ["approver", "requester"]);
    assert.deepEqual(p.groups, ["dba"]);
  });

  test("reads a single-string group claim, and ignores anything that is not strings", () => {
    assert.deepEqual(profileFromClaims({ sub: "s", groups: "eng" }, cfg).roles, ["requester"]);
    assert.deepEqual(profileFromClaims({ sub: "s", groups: [1, { g: "eng" }] }, cfg).roles, []);
    assert.deepEqual(profileFromClaims({ sub: "s" }, cfg).roles, []);
  });

  test("matches group names exactly, case included", () => {
    assert.deepEqual(profileFromClaims({ sub: "s", groups: ["ENG", "eng "] }, cfg).roles, []);
  });

  test("takes name, user name and a plausible email from the claims", () => {
    const p = profileFromClaims({ sub: "s", preferred_username: "ada", email: "not-an-email" }, cfg);
    assert.deepEqual([p.username, p.name, p.email], ["ada", "ada", null]);
  });
});
