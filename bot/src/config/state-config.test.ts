import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { stateCredentials, stateSchema } from "./state-config.ts";

const problem = (url: string): string | undefined => {
  const r = stateSchema.safeParse({ url });
  return r.success ? undefined : r.error.issues.map((i) => i.message).join("; ");
};

describe("the state section's URL", () => {
  test("takes a PostgreSQL URL with TLS and timeout parameters", () => {
    assert.equal(
      problem("postgres://dbward@db.internal:5432/dbward?sslmode=verify-full&connect_timeout=5"),
      undefined,
    );
    assert.equal(problem("postgresql://dbward@db.internal/dbward"), undefined);
  });

  test("refuses a password in the URL, in its user part or as a parameter, and names where it goes", () => {
    assert.match(
      problem("postgres://dbward:hunter2@db/dbward") ?? "",
      /must not carry a password: set DBWARD_STATE_PASSWORD/,
    );
    assert.match(
      problem("postgres://dbward@db/dbward?password=hunter2") ?? "",
      /not password \(a password goes in DBWARD_STATE_PASSWORD\)/,
    );
    assert.match(
      problem("postgres://dbward@db/dbward?sslmode=require&passfile=/tmp/p") ?? "",
      /not passfile/,
    );
  });

  test("refuses another scheme, a missing host or a missing database", () => {
    assert.match(problem("mysql://dbward@db/dbward") ?? "", /must start with postgres:\/\//);
    assert.match(problem("postgres://dbward@db.internal") ?? "", /must name a host and a database/);
    assert.match(problem("not a url") ?? "", /must be a URL/);
  });

  test("takes the password from DBWARD_STATE_PASSWORD, and none when it is unset or empty", () => {
    const url = "postgres://dbward@db/dbward";
    assert.deepEqual(stateCredentials(url, { DBWARD_STATE_PASSWORD: "s3cret" }), { url, password: "s3cret" });
    assert.deepEqual(stateCredentials(url, { DBWARD_STATE_PASSWORD: "" }), { url });
    assert.deepEqual(stateCredentials(url, {}), { url });
  });
});
