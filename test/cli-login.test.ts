/**
 * `dbward login` end to end: the device authorization grant against a real identity provider on
 * loopback, driven as a person would (the CLI prints a code; a browser elsewhere approves it),
 * then the stored session used by other commands, and `dbward logout`.
 */
import assert from "node:assert/strict";
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import type { StoredSession } from "../cli/src/credentials.ts";
import { main } from "../cli/src/main.ts";
import { EXIT } from "../cli/src/exit-codes.ts";
import { captureOutput } from "./support/capture-output.ts";
import { startBotHarness, type BotHarness } from "./support/bot-harness.ts";
import { oidcBotConfig } from "./support/oidc-bot-config.ts";
import { IDP_CLIENT_ID, startTestIdp, type TestIdp } from "./support/oidc-provider.ts";

/** Waits (bounded) until the CLI has printed the user code, and returns it. */
async function userCodeFrom(lines: readonly string[]): Promise<string> {
  for (let i = 0; i < 400; i++) {
    for (const line of lines) {
      const m = /enter the code (\S+)$/.exec(line);
      if (m?.[1] !== undefined) return m[1];
    }
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`the CLI printed no user code:\n${lines.join("\n")}`);
}

describe("dbward login (device authorization grant)", () => {
  let idp: TestIdp;
  let h: BotHarness;
  let home: string;
  let env: Record<string, string>;
  before(async () => {
    idp = await startTestIdp();
    idp.accounts.set("sub-ada", { preferred_username: "ada", name: "Ada", groups: ["dbward-requesters"] });
    h = await startBotHarness(oidcBotConfig(idp.issuer, "create"));
    home = mkdtempSync(join(tmpdir(), "dbward-cli-home-"));
    env = { XDG_CONFIG_HOME: join(home, "config"), DBWARD_URL: h.url };
  });
  after(async () => {
    await h.stop();
    await idp.stop();
    rmSync(home, { recursive: true, force: true });
  });

  const file = (): string => join(home, "config", "dbward", "credentials.json");
  const readSession = (): StoredSession => {
    const session = (JSON.parse(readFileSync(file(), "utf8")) as { sessions: Record<string, StoredSession> })
      .sessions[h.url];
    assert.ok(session !== undefined, "a stored session for the bot");
    return session;
  };

  test("signs in with a code approved in a browser elsewhere, and stores the tokens readable by the owner only", async () => {
    const out = captureOutput();
    const running = main(["login"], env, out);
    const code = await userCodeFrom(out.stdout);
    await idp.approve(code, "sub-ada");
    assert.equal(await running, EXIT.ok, out.stderr.join("\n"));
    const text = out.stdout.join("\n");
    assert.match(text, new RegExp(`open ${idp.issuer}/device on any device`));
    assert.match(text, /signed in to .* as ada \(roles: requester\)/);
    assert.equal(statSync(file()).mode & 0o777, 0o600);
    assert.equal(statSync(join(home, "config", "dbward")).mode & 0o777, 0o700);
    assert.equal(readSession().user, "ada");
  });

  test("other commands use the stored session when no token is given", async () => {
    const out = captureOutput();
    assert.equal(await main(["request", "list", "--json"], env, out), EXIT.ok, out.stderr.join("\n"));
    assert.deepEqual(JSON.parse(out.stdout.join("")), []);
  });

  test("token create, list and revoke work for the signed-in person, and list never shows a secret", async () => {
    const created = captureOutput();
    assert.equal(
      await main(["token", "create", "--name", "ci", "--json"], env, created),
      EXIT.ok,
      created.stderr.join("\n"),
    );
    const token = JSON.parse(created.stdout.join("")) as { id: string; token: string; user: string };
    assert.equal(token.user, "ada");
    assert.match(token.token, /^dbw_/);
    const listed = captureOutput();
    assert.equal(await main(["token", "list"], env, listed), EXIT.ok);
    const table = listed.stdout.join("\n");
    assert.ok(table.includes(token.id));
    assert.ok(!table.includes(token.token), "the secret is never listed");
    assert.ok(table.includes(`${token.token.slice(0, 12)}…`), "a short hint tells tokens apart");
    // The new API token works on its own, without the session.
    const withToken = captureOutput();
    assert.equal(
      await main(["request", "list", "--token", token.token], { DBWARD_URL: h.url }, withToken),
      EXIT.ok,
    );
    const revoked = captureOutput();
    assert.equal(await main(["token", "revoke", token.id], env, revoked), EXIT.ok);
    assert.match(revoked.stdout.join("\n"), /is revoked/);
    const refused = captureOutput();
    assert.equal(
      await main(["request", "list", "--token", token.token], { DBWARD_URL: h.url }, refused),
      EXIT.auth,
    );
  });

  test("refuses to use a credentials file others can read", async () => {
    chmodSync(file(), 0o644);
    try {
      const out = captureOutput();
      assert.equal(await main(["request", "list"], env, out), EXIT.auth);
      assert.match(out.stderr.join("\n"), /can be read by others/);
    } finally {
      chmodSync(file(), 0o600);
    }
  });

  test("renews an expired session with its refresh token and saves the new tokens", async () => {
    const before = readSession();
    assert.ok(before.refresh_token !== undefined, "offline_access gave a refresh token");
    writeFileSync(
      file(),
      JSON.stringify({
        version: 1,
        sessions: { [h.url]: { ...before, expires_at: new Date(Date.now() - 1000).toISOString() } },
      }),
      { mode: 0o600 },
    );
    const out = captureOutput();
    assert.equal(await main(["request", "list"], env, out), EXIT.ok, out.stderr.join("\n"));
    const afterRefresh = readSession();
    assert.notEqual(afterRefresh.access_token, before.access_token);
    assert.ok(Date.parse(afterRefresh.expires_at ?? "") > Date.now());
  });

  test("logout revokes the sign-in at the identity provider and deletes the tokens", async () => {
    const { refresh_token: refresh } = readSession();
    const out = captureOutput();
    assert.equal(await main(["logout"], env, out), EXIT.ok, out.stderr.join("\n"));
    // The provider cannot revoke its self-contained JWT access token (RFC 7009 unsupported_token_type):
    // it ends the grant through the refresh token, and the access token expires on its own.
    assert.match(
      out.stdout.join("\n"),
      /signed out of .* \(sign-in revoked at the identity provider; its last access token expires on its own at /,
    );
    const reuse = await fetch(`${idp.issuer}/token`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({
        grant_type: "refresh_token",
        refresh_token: refresh ?? "",
        client_id: IDP_CLIENT_ID,
      }).toString(),
    });
    assert.equal(reuse.status, 400, "the revoked refresh token no longer works");
    assert.ok(existsSync(file()));
    assert.deepEqual(JSON.parse(readFileSync(file(), "utf8")).sessions, {});
    const after = captureOutput();
    assert.equal(await main(["request", "list"], env, after), EXIT.usage);
    assert.match(after.stderr.join("\n"), /run dbward login/);
  });

  test("login against a bot without an identity provider says to use an API token", async () => {
    const plain = await startBotHarness();
    try {
      const out = captureOutput();
      assert.equal(await main(["login", "--url", plain.url], env, out), EXIT.usage);
      assert.match(out.stderr.join("\n"), /does not offer sign-in .* use an API token/);
    } finally {
      await plain.stop();
    }
  });
});
