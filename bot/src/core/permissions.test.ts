import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  BUILTIN_ROLES,
  PERMISSIONS,
  effectiveRoles,
  hasPermission,
  isKnownRole,
  permissionsOf,
} from "./permissions.ts";

describe("permissions", () => {
  test("each built-in role has its own duties, and only an admin manages users and others' tokens", () => {
    const table = Object.fromEntries(BUILTIN_ROLES.map((r) => [r, [...permissionsOf([r])].sort()]));
    assert.deepEqual(table, {
      requester: ["request.create", "token.self"],
      approver: ["request.view_all", "token.self"],
      operator: [
        "audit.read",
        "request.cancel_any",
        "request.retry",
        "request.view_all",
        "result.read_any",
        "token.self",
        "user.read",
      ],
      admin: ["audit.read", "request.view_all", "token.manage", "token.self", "user.manage", "user.read"],
    });
  });

  test("an admin cannot create requests of their own (separation of duties)", () => {
    assert.equal(hasPermission(["admin"], "request.create"), false);
  });

  test("a custom role grants exactly its permission set and nothing when it is not configured", () => {
    const custom = { auditor: { permissions: ["audit.read"] as const } };
    assert.deepEqual([...permissionsOf(["auditor"], custom)], ["audit.read"]);
    assert.deepEqual([...permissionsOf(["auditor"])], [], "a role removed from the config grants nothing");
    assert.equal(isKnownRole("auditor", custom), true);
    assert.equal(isKnownRole("toString", custom), false, "no inherited object keys");
    assert.deepEqual([...permissionsOf(["constructor", "__proto__"], custom)], []);
  });

  test("roles combine by union", () => {
    assert.deepEqual([...permissionsOf(["requester", "approver"])].sort(), [
      "request.create",
      "request.view_all",
      "token.self",
    ]);
  });

  test("a ceiling narrows the roles a call acts with and never adds one", () => {
    assert.deepEqual(effectiveRoles(["requester", "approver"], null), ["requester", "approver"]);
    assert.deepEqual(effectiveRoles(["requester", "approver"], ["requester"]), ["requester"]);
    assert.deepEqual(effectiveRoles(["requester"], ["requester", "admin"]), ["requester"]);
    assert.deepEqual(effectiveRoles(["requester"], []), []);
  });

  test("every permission is granted by some built-in role", () => {
    for (const p of PERMISSIONS)
      assert.ok(
        BUILTIN_ROLES.some((r) => hasPermission([r], p)),
        p,
      );
  });
});
