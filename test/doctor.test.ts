/**
 * `dbward doctor` against good and broken configs: a real bot on loopback, the real local
 * PostgreSQL and MariaDB, a real OpenID provider (test/support/oidc-provider.ts), real files with
 * real modes, and a stand-in for Slack's `auth.test` (Slack cannot be reached from test machines).
 * What `dbward bot` refuses at start is checked against a real `dbward bot` process: doctor must
 * fail on it, in the words the bot used.
 */
import assert from "node:assert/strict";
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import Database from "better-sqlite3";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { openPostgresStore } from "../bot/src/store/open-postgres-store.ts";
import { SCHEMA_VERSION } from "../bot/src/store/open-store.ts";
import { base64url, generateSigningKey } from "@dbward/shared";
import pg from "pg";
import { checkBot } from "../cli/src/doctor/bot-doctor.ts";
import { EXIT } from "../cli/src/exit-codes.ts";
import { main } from "../cli/src/main.ts";
import { MARIADB_URL, PG_URL } from "./support/agent-harness.ts";
import { startBotHarness, type BotHarness } from "./support/bot-harness.ts";
import { dropStateDatabase, ensureStateDatabase } from "./support/postgres-state.ts";
import { captureOutput } from "./support/capture-output.ts";
import { oidcBotConfig } from "./support/oidc-bot-config.ts";
import { startTestIdp, type TestIdp } from "./support/oidc-provider.ts";
import { freePort, killAllProcesses, spawnDbward, token } from "./support/processes.ts";

// A port of its own, so the listen check does not depend on what else runs on this machine.
const LISTEN = `listen: { host: 127.0.0.1, port: ${await freePort()} }`;
const BOT_CONFIG = `
${LISTEN}
databases:
  - { name: shop, dialect: postgres, environments: [production] }
workflows:
  - { name: reads, operations: [read], auto_approve: always }
agents:
  - id: agent-1
`;

const dir = mkdtempSync(join(tmpdir(), "dbward-doctor-"));
let n = 0;
function file(text: string): string {
  const path = join(dir, `config-${++n}.yml`);
  writeFileSync(path, text);
  return path;
}

async function doctor(args: string[], env: Record<string, string> = {}) {
  const out = captureOutput();
  const code = await main(["doctor", ...args], env, out);
  return { code, text: out.stdout.join("\n"), err: out.stderr.join("\n") };
}

after(() => {
  killAllProcesses();
  rmSync(dir, { recursive: true, force: true });
});

/** A loopback port nothing listens on (it was bound and released). */
async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
  const { port } = s.address() as AddressInfo;
  await new Promise((r) => s.close(r));
  return port;
}

describe("dbward doctor --bot-config", () => {
  test("a good config with a fresh data directory passes", async () => {
    const r = await doctor(["--bot-config", file(BOT_CONFIG), "--data-dir", join(dir, "fresh", "bot")]);
    assert.equal(r.code, EXIT.ok, r.text);
    assert.match(r.text, /ok +config +1 databases, 1 workflows, 1 agents/);
    assert.match(r.text, /does not exist yet; the bot creates it with mode 0700/);
    assert.match(r.text, /WARN +monitoring token +DBWARD_METRICS_TOKEN is not set/);
    assert.match(r.text, /no problems found \(1 warning\)/);
  });

  test("a config that does not parse is named with the bad key, and fails", async () => {
    const r = await doctor([
      "--bot-config",
      file(`${BOT_CONFIG}\nhttp:\n  trusted_proxies: ["10.0.0.0/33"]\n`),
    ]);
    assert.equal(r.code, EXIT.failure);
    assert.match(r.text, /FAIL +config .*http\.trusted_proxies\.0: must be an IP address or CIDR block/s);
    assert.match(r.err, /doctor found 1 problem/);
  });

  test("a data directory and key file others can read fail, each with the chmod that fixes it", async () => {
    const data = join(dir, "loose");
    mkdirSync(data);
    chmodSync(data, 0o755);
    const key = generateSigningKey();
    writeFileSync(
      join(data, "signing-key.json"),
      JSON.stringify({ kid: key.kid, secret_key: base64url(key.secretKey) }),
    );
    chmodSync(join(data, "signing-key.json"), 0o644);
    const r = await doctor(["--bot-config", file(BOT_CONFIG), "--data-dir", data]);
    assert.equal(r.code, EXIT.failure);
    assert.match(r.text, /FAIL +data directory .* is mode 0755[\s\S]*fix: chmod 700 /);
    assert.match(
      r.text,
      /FAIL +signing key .* is readable by group or others \(mode 644\); run chmod 600 on it[\s\S]*fix: chmod 600 /,
    );
    assert.ok(!r.text.includes(base64url(key.secretKey)), "the key itself is never printed");
  });

  test("a running bot's data directory passes and reports its key id and schema", async () => {
    const h = await startBotHarness();
    try {
      const r = await doctor(["--bot-config", file(BOT_CONFIG), "--data-dir", join(h.dataDir, "bot")], {
        DBWARD_METRICS_TOKEN: "x".repeat(40),
      });
      assert.equal(r.code, EXIT.ok, r.text);
      assert.match(r.text, new RegExp(`signing key +key id ${h.bot.signingKey.kid}, mode 0600`));
      assert.match(r.text, /state store +schema version \d+/);
    } finally {
      await h.stop();
    }
  });

  test("a short monitoring token and a malformed bootstrap token fail", async () => {
    const r = await doctor(["--bot-config", file(BOT_CONFIG), "--data-dir", join(dir, "fresh2")], {
      DBWARD_METRICS_TOKEN: "short",
      DBWARD_AGENT_TOKEN_AGENT_1: "not-a-token",
    });
    assert.equal(r.code, EXIT.failure);
    assert.match(r.text, /FAIL +monitoring token +DBWARD_METRICS_TOKEN must be at least 32/);
    assert.match(
      r.text,
      /FAIL +bootstrap token +DBWARD_AGENT_TOKEN_AGENT_1 is not a dbward agent token: it must look like dbwa_<43 base64url characters>.*\n.*fix: unset DBWARD_AGENT_TOKEN_AGENT_1/,
    );
    assert.ok(!r.text.includes("not-a-token"), "the value itself is never printed");
  });

  describe("Slack", () => {
    let slack: Server;
    let url = "";
    const seenTokens: string[] = [];
    before(async () => {
      slack = createServer((req, res) => {
        const token = (req.headers.authorization ?? "").replace(/^Bearer /, "");
        seenTokens.push(`${req.url} ${token}`);
        res.setHeader("content-type", "application/json");
        res.end(
          JSON.stringify(req.url === "/api/apps.connections.open" ? connectionsOpen(token) : authTest(token)),
        );
      });
      await new Promise<void>((r) => slack.listen(0, "127.0.0.1", r));
      url = `http://127.0.0.1:${(slack.address() as AddressInfo).port}/api/`;
    });
    after(() => slack.close());
    const authTest = (token: string) =>
      token === "xoxb-good"
        ? { ok: true, team: "Acme", bot_id: "B0GOOD", user_id: "U0GOOD" }
        : { ok: false, error: "invalid_auth" };
    // As Slack answers it: only an app-level token opens a connection; another kind of token is
    // refused for its type, an unknown app-level token for auth.
    const connectionsOpen = (token: string) =>
      token === "xapp-good"
        ? { ok: true, url: "wss://wss-primary.slack.com/link/?ticket=fake" }
        : { ok: false, error: token.startsWith("xapp-") ? "invalid_auth" : "not_allowed_token_type" };
    const env = (token: string, botId = "B0GOOD") => ({
      SLACK_SIGNING_SECRET: "s".repeat(32),
      SLACK_BOT_TOKEN: token,
      SLACK_API_URL: url,
      SLACK_BOT_ID: botId,
      SLACK_BOT_USER_ID: "U0GOOD",
      DBWARD_METRICS_TOKEN: "x".repeat(40),
    });
    const slackConfig = `${BOT_CONFIG}\nslack:\n  approvals_channel: C0APPROVALS\n`;

    test("a working bot token passes auth.test", async () => {
      const r = await doctor(
        ["--bot-config", file(slackConfig), "--data-dir", join(dir, "s1")],
        env("xoxb-good"),
      );
      assert.equal(r.code, EXIT.ok, r.text);
      assert.match(r.text, /ok +Slack +auth.test accepted the token \(team Acme, bot B0GOOD\)/);
      assert.ok(seenTokens.includes("/api/auth.test xoxb-good"));
    });

    test("a revoked token fails with Slack's error", async () => {
      const r = await doctor(
        ["--bot-config", file(slackConfig), "--data-dir", join(dir, "s2")],
        env("xoxb-revoked"),
      );
      assert.equal(r.code, EXIT.failure);
      assert.match(r.text, /FAIL +Slack +auth.test refused the token: invalid_auth/);
      assert.ok(!r.text.includes("xoxb-revoked"));
    });

    test("a token of another app fails, naming the variable to correct", async () => {
      const r = await doctor(
        ["--bot-config", file(slackConfig), "--data-dir", join(dir, "s3")],
        env("xoxb-good", "B0OTHER"),
      );
      assert.equal(r.code, EXIT.failure);
      assert.match(
        r.text,
        /the token belongs to bot B0GOOD, not SLACK_BOT_ID=B0OTHER[\s\S]*fix: set SLACK_BOT_ID=B0GOOD/,
      );
    });

    describe("Socket Mode", () => {
      const socketConfig = `${BOT_CONFIG}\nslack:\n  mode: socket\n  approvals_channel: C0APPROVALS\n`;
      /** Socket Mode's variables: an app-level token, and no signing secret (nothing is signed). */
      const socketEnv = (appToken: string): Record<string, string> => ({
        ...Object.fromEntries(Object.entries(env("xoxb-good")).filter(([k]) => k !== "SLACK_SIGNING_SECRET")),
        SLACK_APP_TOKEN: appToken,
      });

      test("a valid app-level token passes apps.connections.open, and the bot token auth.test", async () => {
        seenTokens.length = 0;
        const r = await doctor(
          ["--bot-config", file(socketConfig), "--data-dir", join(dir, "sm1")],
          socketEnv("xapp-good"),
        );
        assert.equal(r.code, EXIT.ok, r.text);
        assert.match(r.text, /ok +Slack Socket Mode +apps.connections.open accepted the app-level token/);
        assert.match(r.text, /ok +Slack +auth.test accepted the token \(team Acme, bot B0GOOD\)/);
        assert.deepEqual(seenTokens.sort(), [
          "/api/apps.connections.open xapp-good",
          "/api/auth.test xoxb-good",
        ]);
        assert.ok(!r.text.includes("xapp-good"), "the token itself is never printed");
      });

      test("a bot token where SLACK_APP_TOKEN belongs fails, saying what it is and what belongs there", async () => {
        seenTokens.length = 0;
        const r = await doctor(
          ["--bot-config", file(socketConfig), "--data-dir", join(dir, "sm2")],
          socketEnv("xoxb-good"),
        );
        assert.equal(r.code, EXIT.failure, r.text);
        assert.match(
          r.text,
          /FAIL +Slack +Slack settings are incomplete:\s+- SLACK_APP_TOKEN must be an app-level token \(xapp-…\) with the connections:write scope; this is a bot token \(xoxb-…\)/,
        );
        // Refused by its prefix: never offered to Slack, whose client would retry it for ever.
        assert.ok(!seenTokens.some((t) => t.startsWith("/api/apps.connections.open")), seenTokens.join());
        assert.ok(!r.text.includes("xoxb-good"), "the token itself is never printed");
      });

      test("an app-level token Slack refuses fails with Slack's error and how to make one", async () => {
        const r = await doctor(
          ["--bot-config", file(socketConfig), "--data-dir", join(dir, "sm3")],
          socketEnv("xapp-revoked"),
        );
        assert.equal(r.code, EXIT.failure, r.text);
        assert.match(
          r.text,
          /FAIL +Slack Socket Mode +Slack refused the app-level token \(SLACK_APP_TOKEN\): invalid_auth[\s\S]*fix: make an app-level token with the connections:write scope/,
        );
        assert.match(r.text, /ok +Slack +auth.test accepted the token/, "the bot token is still checked");
        assert.ok(!r.text.includes("xapp-revoked"));
      });
    });
  });
});

describe("dbward doctor --bot-config: webhook secrets", () => {
  const hooks = `${BOT_CONFIG}
webhooks:
  - { name: siem, url: "https://siem.example.com/dbward", secret_env: SIEM_SECRET, events: [request.created] }
  - { name: chat, url: "https://chat.example.com/hook", secret_env: CHAT_SECRET, events: [request.approved] }
`;

  test("every webhook's secret set with 32+ characters passes", async () => {
    const r = await doctor(["--bot-config", file(hooks), "--data-dir", join(dir, "w1")], {
      SIEM_SECRET: "s".repeat(32),
      CHAT_SECRET: "c".repeat(40),
    });
    assert.equal(r.code, EXIT.ok, r.text);
    assert.match(r.text, /ok +webhook secrets +2 webhooks, each secret_env set \(32\+ characters\)/);
  });

  test("a missing and a short secret fail, each named, and no value is printed", async () => {
    const r = await doctor(["--bot-config", file(hooks), "--data-dir", join(dir, "w2")], {
      CHAT_SECRET: "short-secret-9931",
    });
    assert.equal(r.code, EXIT.failure);
    assert.match(r.text, /FAIL +webhook secrets +webhook secrets are missing:/);
    assert.match(r.text, /webhooks\.0\.secret_env: environment variable SIEM_SECRET is not set or shorter/);
    assert.match(r.text, /webhooks\.1\.secret_env: environment variable CHAT_SECRET is not set or shorter/);
    assert.ok(!r.text.includes("short-secret-9931"));
  });
});

describe("dbward doctor --bot-config: OIDC discovery", () => {
  let idp: TestIdp;
  before(async () => {
    idp = await startTestIdp();
  });
  after(async () => idp.stop());

  test("a reachable provider passes: its issuer and its key set", async () => {
    const r = await doctor([
      "--bot-config",
      file(`${LISTEN}\n${oidcBotConfig(idp.issuer, "refuse")}`),
      "--data-dir",
      join(dir, "o1"),
    ]);
    assert.equal(r.code, EXIT.ok, r.text);
    assert.match(
      r.text,
      new RegExp(`ok +OIDC discovery +issuer ${idp.issuer}: \\d+ signing keys at ${idp.issuer}/`),
    );
  });

  test("an unreachable issuer fails, naming the discovery URL and why", async () => {
    const issuer = `http://127.0.0.1:${await closedPort()}`;
    const r = await doctor([
      "--bot-config",
      file(`${LISTEN}\n${oidcBotConfig(issuer, "refuse")}`),
      "--data-dir",
      join(dir, "o2"),
    ]);
    assert.equal(r.code, EXIT.failure);
    assert.match(
      r.text,
      new RegExp(
        `FAIL +OIDC discovery +discovery failed at ${issuer}/\\.well-known/openid-configuration: .*ECONNREFUSED`,
      ),
    );
    assert.match(r.text, /fix: check oidc\.issuer/);
  });

  test("a URL that is not this provider's issuer fails: discovery checks the issuer it names", async () => {
    const r = await doctor([
      "--bot-config",
      file(`${LISTEN}\n${oidcBotConfig(`${idp.issuer}/other`, "refuse")}`),
      "--data-dir",
      join(dir, "o3"),
    ]);
    assert.equal(r.code, EXIT.failure);
    assert.match(
      r.text,
      /FAIL +OIDC discovery +discovery failed at .*\/other\/\.well-known\/openid-configuration/,
    );
  });
});

describe("dbward doctor --bot-config: results directory", () => {
  const withResults = (results: string) => file(`${BOT_CONFIG}\nresults:\n  dir: ${results}\n`);

  test("a private, writable results directory passes; a missing one that can be created passes", async () => {
    const results = join(dir, "results-ok");
    mkdirSync(results, { mode: 0o700 });
    const r = await doctor(["--bot-config", withResults(results), "--data-dir", join(dir, "r1")]);
    assert.equal(r.code, EXIT.ok, r.text);
    assert.match(r.text, new RegExp(`ok +results directory +${results}, mode 0700, writable`));
    const fresh = await doctor(["--bot-config", file(BOT_CONFIG), "--data-dir", join(dir, "r2")]);
    assert.match(fresh.text, /ok +results directory +.*r2\/results does not exist yet; the bot creates it/);
  });

  test("a results directory every user can read fails with the chmod that fixes it", async () => {
    const results = join(dir, "results-open");
    mkdirSync(results);
    chmodSync(results, 0o755);
    const r = await doctor(["--bot-config", withResults(results), "--data-dir", join(dir, "r3")]);
    assert.equal(r.code, EXIT.failure);
    assert.match(
      r.text,
      /FAIL +results directory +.* is mode 0755: every user on this host can read query results/,
    );
    assert.match(r.text, new RegExp(`fix: chmod 700 ${results}`));
  });

  test("a results path that is a file fails", async () => {
    const results = join(dir, "results-file");
    writeFileSync(results, "");
    const r = await doctor(["--bot-config", withResults(results), "--data-dir", join(dir, "r4")]);
    assert.equal(r.code, EXIT.failure);
    assert.match(r.text, /FAIL +results directory +.*results-file is not a directory/);
  });
});

describe("dbward doctor --bot-config: PostgreSQL state (state.url)", () => {
  const keys = ["doctor-pg-healthy", "doctor-pg-newer"];
  const urls = new Map<string, string>();
  before(async () => {
    for (const key of keys) {
      await dropStateDatabase(key);
      const url = await ensureStateDatabase(key);
      // The schema as a starting bot applies it.
      const store = await openPostgresStore({ url, poolSize: 2, onIdleError: () => undefined });
      await store.destroy();
      urls.set(key, url);
    }
    const client = new pg.Client({ connectionString: urls.get("doctor-pg-newer") });
    await client.connect();
    await client.query("insert into schema_version (version, applied_at) values ($1, $2)", [
      SCHEMA_VERSION + 1,
      new Date().toISOString(),
    ]);
    await client.end();
  });
  after(async () => {
    for (const key of keys) await dropStateDatabase(key);
  });

  const onState = (url: string) => file(`${BOT_CONFIG}\nstate:\n  url: ${url}\n`);
  /** A data directory holding the instances' shared key (mode 0600 in a 0700 directory). */
  const withSharedKey = (name: string) => {
    const data = join(dir, name);
    mkdirSync(data, { mode: 0o700 });
    const key = generateSigningKey();
    writeFileSync(
      join(data, "signing-key.json"),
      JSON.stringify({ kid: key.kid, secret_key: base64url(key.secretKey) }),
      { mode: 0o600 },
    );
    return { data, kid: key.kid };
  };
  const env = { DBWARD_METRICS_TOKEN: "x".repeat(40) };

  test("a healthy PostgreSQL state passes: connected, its schema version, the outbox read there, and no results directory to check", async () => {
    const url = urls.get("doctor-pg-healthy") ?? "";
    const { data, kid } = withSharedKey("pg1");
    const r = await doctor(["--bot-config", onState(url), "--data-dir", data], env);
    assert.equal(r.code, EXIT.ok, r.text);
    const shown = url.replace(/^postgres:\/\//, "");
    assert.match(
      r.text,
      new RegExp(`ok +state store +PostgreSQL ${shown}: schema version ${SCHEMA_VERSION}\\b`),
    );
    assert.match(r.text, /ok +Slack outbox +0 deliveries waiting, none given up on/);
    assert.match(
      r.text,
      /ok +results directory +none: results live in the PostgreSQL state \(result_chunks\)/,
    );
    assert.match(r.text, new RegExp(`ok +signing key +key id ${kid}, mode 0600`));
    assert.doesNotMatch(r.text, /dbward\.sqlite/, "the SQLite file is not looked for");
    assert.match(r.text, /no problems found$/m);
  });

  test("a data directory without the shared signing key is a warning: each instance needs the same key", async () => {
    const r = await doctor(
      ["--bot-config", onState(urls.get("doctor-pg-healthy") ?? ""), "--data-dir", join(dir, "pg2")],
      env,
    );
    assert.equal(r.code, EXIT.ok, r.text);
    assert.match(
      r.text,
      /WARN +signing key +.*signing-key\.json does not exist: on PostgreSQL state every instance needs the same key[\s\S]*fix: copy signing-key\.json/,
    );
  });

  test("an unreachable state fails, naming the URL without its password and the likely cause", async () => {
    const port = await closedPort();
    const r = await doctor(
      [
        "--bot-config",
        onState(`postgres://dbward@127.0.0.1:${port}/dbward`),
        "--data-dir",
        withSharedKey("pg3").data,
      ],
      { ...env, DBWARD_STATE_PASSWORD: "state-password-8812" },
    );
    assert.equal(r.code, EXIT.failure, r.text);
    assert.match(
      r.text,
      new RegExp(
        `FAIL +state store +cannot connect to PostgreSQL dbward@127\\.0\\.0\\.1:${port}/dbward: connection refused: nothing listens at 127\\.0\\.0\\.1:${port}`,
      ),
    );
    assert.match(r.text, /fix: check that PostgreSQL runs and that state\.url names its host and port/);
    assert.ok(!r.text.includes("state-password-8812"), "the password is never printed");
  });

  test("a database that does not exist fails, saying so and how to create it", async () => {
    const url = "postgres://postgres@127.0.0.1:5432/dbward_state_doctor_absent";
    const r = await doctor(["--bot-config", onState(url), "--data-dir", withSharedKey("pg4").data], env);
    assert.equal(r.code, EXIT.failure, r.text);
    assert.match(
      r.text,
      /FAIL +state store +cannot connect to .*: the database dbward_state_doctor_absent does not exist/,
    );
    assert.match(r.text, /fix: create it \(CREATE DATABASE dbward_state_doctor_absent OWNER postgres\)/);
  });

  test("a state at a newer schema version fails in the bot's words", async () => {
    const r = await doctor(
      ["--bot-config", onState(urls.get("doctor-pg-newer") ?? ""), "--data-dir", withSharedKey("pg5").data],
      env,
    );
    assert.equal(r.code, EXIT.failure, r.text);
    assert.match(
      r.text,
      new RegExp(
        `FAIL +state store +PostgreSQL .*: the state store is at schema version ${SCHEMA_VERSION + 1}, newer than this dbward \\(${SCHEMA_VERSION}\\); upgrade dbward`,
      ),
    );
  });
});

describe("dbward doctor --bot-config: listen address", () => {
  test("a port another program holds fails with the error the bot would stop on", async () => {
    const holder = createServer();
    await new Promise<void>((r) => holder.listen(0, "127.0.0.1", r));
    const port = (holder.address() as AddressInfo).port;
    try {
      const config = BOT_CONFIG.replace(LISTEN, `listen: { host: 127.0.0.1, port: ${port} }`);
      const r = await doctor(["--bot-config", file(config), "--data-dir", join(dir, "l1")]);
      assert.equal(r.code, EXIT.failure);
      assert.match(
        r.text,
        new RegExp(`FAIL +listen address +listen EADDRINUSE: address already in use 127\\.0\\.0\\.1:${port}`),
      );
    } finally {
      holder.close();
    }
  });

  test("the port of the running bot itself passes", async () => {
    const h = await startBotHarness();
    try {
      const port = new URL(h.url).port;
      const config = BOT_CONFIG.replace(LISTEN, `listen: { host: 127.0.0.1, port: ${port} }`);
      const r = await doctor(["--bot-config", file(config), "--data-dir", join(h.dataDir, "bot")]);
      assert.match(
        r.text,
        new RegExp(`ok +listen address +127\\.0\\.0\\.1:${port} is in use by a running dbward bot`),
      );
    } finally {
      await h.stop();
    }
  });
});

/**
 * Each way `dbward bot` refuses to start, set up once and given to both: the real bot process must
 * exit with an error, and doctor must fail with a check whose words are in the bot's error.
 */
describe("dbward doctor fails on what dbward bot refuses at start, in the same words", () => {
  interface Refusal {
    readonly name: string;
    /** The config file; by default BOT_CONFIG on a port of its own, plus `extra`. */
    readonly config?: string;
    readonly extra?: string;
    readonly env?: Record<string, string>;
    /** Prepares the data directory. */
    readonly data?: (dataDir: string) => void;
  }
  const looseKey = (dataDir: string, body: string, mode: number): void => {
    mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    writeFileSync(join(dataDir, "signing-key.json"), body, { mode });
    chmodSync(join(dataDir, "signing-key.json"), mode);
  };
  const key = generateSigningKey();
  const keyJson = JSON.stringify({ kid: key.kid, secret_key: base64url(key.secretKey) });
  const refusals: Refusal[] = [
    { name: "a config file that cannot be read", config: join(dir, "no-such-config.yml") },
    { name: "a config that does not parse", extra: "no_such_key: 1" },
    {
      name: "a webhook without its secret",
      extra: `webhooks:\n  - { name: siem, url: "https://siem.example.com/x", secret_env: SIEM_SECRET, events: [request.created] }`,
    },
    { name: "a short monitoring token", env: { DBWARD_METRICS_TOKEN: "short" } },
    { name: "half a Slack configuration", env: { SLACK_BOT_TOKEN: "xoxb-1" } },
    { name: "a key file others can read", data: (d) => looseKey(d, keyJson, 0o644) },
    { name: "a key file that is not JSON", data: (d) => looseKey(d, "not json", 0o600) },
    { name: "a key file without a key", data: (d) => looseKey(d, JSON.stringify({ kid: "k1" }), 0o600) },
    {
      name: "a state store from a newer dbward",
      data: (d) => {
        mkdirSync(d, { recursive: true, mode: 0o700 });
        const db = new Database(join(d, "dbward.sqlite"));
        db.exec(
          "CREATE TABLE schema_version (version INTEGER NOT NULL); INSERT INTO schema_version VALUES (99);",
        );
        db.close();
        chmodSync(join(d, "dbward.sqlite"), 0o600);
      },
    },
    {
      name: "a malformed admin token",
      extra: "users:\n  - { id: root, name: Root, roles: [admin] }",
      env: { DBWARD_ADMIN_TOKEN: "dbw_too-short" },
    },
    { name: "a malformed agent token", env: { DBWARD_AGENT_TOKEN_AGENT_1: token("dbw_") } },
    { name: "a log level the logger does not know", env: { DBWARD_LOG_LEVEL: "verbose" } },
  ];

  interface Run {
    readonly config: string;
    readonly dataDir: string;
    readonly env: Record<string, string>;
    readonly bot: ReturnType<typeof spawnDbward>;
  }
  const runs: Run[] = [];
  // The bots are started together: each start takes seconds, and each has its own port and data.
  before(async () => {
    for (const [i, refusal] of refusals.entries()) {
      const dataDir = join(dir, `refusal-${i}`, "bot");
      refusal.data?.(dataDir);
      const port = await freePort();
      const config =
        refusal.config ??
        file(
          `${BOT_CONFIG.replace(LISTEN, `listen: { host: 127.0.0.1, port: ${port} }`)}\n${refusal.extra ?? ""}\n`,
        );
      const env = refusal.env ?? {};
      runs.push({
        config,
        dataDir,
        env,
        bot: spawnDbward(["bot", "--config", config, "--data-dir", dataDir], env),
      });
    }
  });

  for (const [i, refusal] of refusals.entries()) {
    test(`${refusal.name}: the bot stops, and doctor fails saying what the bot said`, async () => {
      const run = runs[i];
      assert.ok(run !== undefined);
      const code = await Promise.race([
        run.bot.exited,
        new Promise<"running">((r) => setTimeout(() => r("running"), 60_000).unref()),
      ]);
      assert.notEqual(code, "running", `the bot did not stop: ${run.bot.stderr()}`);
      assert.notEqual(code, 0, "the bot refused to start");
      const r = await doctor(["--bot-config", run.config, "--data-dir", run.dataDir], run.env);
      assert.equal(r.code, EXIT.failure, r.text);
      const said = run.bot.stderr();
      const failures = (await checkBot(run.config, run.env, { dataDir: run.dataDir })).filter(
        (c) => c.status === "fail",
      );
      assert.ok(
        failures.some((c) => said.includes(c.detail)),
        `no doctor failure is in the bot's words.\nbot: ${said}\ndoctor: ${failures.map((c) => c.detail).join("\n")}`,
      );
    });
  }
});

describe("dbward doctor --agent-config", () => {
  let h: BotHarness;
  before(async () => {
    h = await startBotHarness();
  });
  after(async () => h.stop());

  const agentConfig = (o: { botUrl?: string; keys?: Record<string, string>; dbs?: string } = {}): string => {
    const keys = o.keys ?? { [h.bot.signingKey.kid]: base64url(h.bot.signingKey.publicKey) };
    return file(
      [
        "id: agent-1",
        `bot_url: ${o.botUrl ?? h.url}`,
        "keys:",
        ...Object.entries(keys).map(([kid, k]) => `  ${kid}: ${k}`),
        `data_dir: ${join(dir, "agent-data")}`,
        "databases:",
        o.dbs ??
          [
            "  - { name: shop, environment: production, driver: postgres, url_env: PG_URL, operations: [read] }",
            "  - { name: legacy, environment: production, driver: mysql, url_env: MARIA_URL, operations: [read] }",
          ].join("\n"),
      ].join("\n"),
    );
  };
  const env = { DBWARD_AGENT_TOKEN: "x", PG_URL, MARIA_URL: MARIADB_URL };

  test("a good config passes: bot reachable, key pinned, both databases answer SELECT 1", async () => {
    const r = await doctor(["--agent-config", agentConfig()], env);
    assert.equal(r.code, EXIT.ok, r.text);
    assert.match(r.text, /ok +bot +http:\/\/127\.0\.0\.1:\d+\/health answered ok/);
    assert.match(r.text, new RegExp(`ok +pinned keys +the bot's key ${h.bot.signingKey.kid} matches`));
    assert.match(r.text, /ok +database shop\/production +postgres via PG_URL: SELECT 1 answered/);
    assert.match(r.text, /ok +database legacy\/production +mysql via MARIA_URL: SELECT 1 answered/);
  });

  test("a wrong password and a wrong port fail per database, naming the variable and never the URL", async () => {
    const badEnv = {
      ...env,
      PG_URL: `postgres://postgres@127.0.0.1:${await closedPort()}/test`,
      MARIA_URL: "mysql://root:wrong-pass-5521@127.0.0.1:3306/test",
    };
    const r = await doctor(["--agent-config", agentConfig()], badEnv);
    assert.equal(r.code, EXIT.failure);
    assert.match(r.text, /FAIL +database shop\/production +postgres via PG_URL: .*ECONNREFUSED/);
    assert.match(r.text, /FAIL +database legacy\/production +mysql via MARIA_URL: .*Access denied/);
    assert.match(r.text, /fix: check the host, port, database, user and password in MARIA_URL/);
    assert.ok(!r.text.includes("wrong-pass-5521"), "the password is never printed");
    assert.match(r.text, /2 problems found/);
  });

  test("an unreachable bot fails and says what to check", async () => {
    const closed = await closedPort();
    const r = await doctor(["--agent-config", agentConfig({ botUrl: `http://127.0.0.1:${closed}` })], env);
    assert.equal(r.code, EXIT.failure);
    assert.match(
      r.text,
      new RegExp(`FAIL +bot +cannot reach http://127\\.0\\.0\\.1:${closed}/health: ECONNREFUSED`),
    );
    assert.match(r.text, /fix: check bot_url/);
  });

  test("a different key pinned under the bot's key id fails, and nothing is adopted", async () => {
    const other = generateSigningKey();
    const r = await doctor(
      ["--agent-config", agentConfig({ keys: { [h.bot.signingKey.kid]: base64url(other.publicKey) } })],
      env,
    );
    assert.equal(r.code, EXIT.failure);
    assert.match(
      r.text,
      /is not the key the bot publishes under that id[\s\S]*fix: do not copy the bot's key/,
    );
    assert.ok(
      !r.text.includes(base64url(h.bot.signingKey.publicKey)),
      "the bot's key is not offered for pasting",
    );
  });

  test("a bot key id that is not pinned at all fails", async () => {
    const other = generateSigningKey();
    const r = await doctor(
      ["--agent-config", agentConfig({ keys: { [other.kid]: base64url(other.publicKey) } })],
      env,
    );
    assert.equal(r.code, EXIT.failure);
    assert.match(
      r.text,
      new RegExp(`the bot signs with key id ${h.bot.signingKey.kid}, which keys: does not pin`),
    );
  });

  test("a config whose variables are missing fails, naming them", async () => {
    const r = await doctor(["--agent-config", agentConfig()], { DBWARD_AGENT_TOKEN: "x" });
    assert.equal(r.code, EXIT.failure);
    assert.match(r.text, /environment variable PG_URL is not set/);
    assert.match(r.text, /environment variable MARIA_URL is not set/);
  });

  test("without a config to check, doctor is a usage error", async () => {
    const r = await doctor([]);
    assert.equal(r.code, EXIT.usage);
    assert.match(r.err, /--bot-config FILE or --agent-config FILE/);
  });
});

describe("dbward doctor --json", () => {
  type Report = {
    ok: boolean;
    failed: number;
    warned: number;
    sections: {
      config: string;
      file: string;
      checks: { name: string; status: string; message: string; fix: string | null }[];
    }[];
  };
  const report = (text: string): Report => JSON.parse(text) as Report;

  test("prints the same checks as one JSON document, and exits 0 with warnings only", async () => {
    const config = file(BOT_CONFIG);
    const r = await doctor(["--bot-config", config, "--data-dir", join(dir, "json-fresh"), "--json"]);
    assert.equal(r.code, EXIT.ok, r.text);
    const doc = report(r.text);
    assert.deepEqual([doc.ok, doc.failed, doc.warned], [true, 0, 1]);
    const [section] = doc.sections;
    assert.deepEqual([section?.config, section?.file], ["bot", config]);
    for (const c of section?.checks ?? []) {
      assert.deepEqual(Object.keys(c), ["name", "status", "message", "fix"]);
      assert.ok(["ok", "warn", "fail"].includes(c.status), c.status);
      assert.equal(c.fix === null, c.status === "ok", `${c.name}: a fix exactly for warnings and failures`);
    }
    const config0 = section?.checks.find((c) => c.name === "config");
    assert.match(config0?.message ?? "", /1 databases, 1 workflows, 1 agents/);
    const monitoring = section?.checks.find((c) => c.name === "monitoring token");
    assert.equal(monitoring?.status, "warn");
    assert.match(monitoring?.message ?? "", /DBWARD_METRICS_TOKEN is not set/);
  });

  test("a failed check is status fail with its fix, and the exit code is still 1", async () => {
    const r = await doctor([
      "--bot-config",
      file(`${BOT_CONFIG}\nhttp:\n  trusted_proxies: ["10.0.0.0/33"]\n`),
      "--json",
    ]);
    assert.equal(r.code, EXIT.failure);
    const doc = report(r.text);
    assert.deepEqual([doc.ok, doc.failed], [false, 1]);
    const bad = doc.sections[0]?.checks.find((c) => c.status === "fail");
    assert.equal(bad?.name, "config");
    assert.match(bad?.message ?? "", /http\.trusted_proxies\.0: must be an IP address or CIDR block/);
    assert.equal(typeof bad?.fix, "string");
  });

  test("a bot and an agent config are two sections of one document", async () => {
    const agent = file(
      [
        "id: agent-1",
        "bot_url: http://127.0.0.1:9",
        "keys:",
        `  k1: ${base64url(generateSigningKey().publicKey)}`,
        `data_dir: ${join(dir, "json-agent")}`,
        "databases:",
        "  - { name: shop, environment: production, driver: postgres, url_env: NOT_SET_URL, operations: [read] }",
      ].join("\n"),
    );
    const r = await doctor(
      [
        "--bot-config",
        file(BOT_CONFIG),
        "--data-dir",
        join(dir, "json-two"),
        "--agent-config",
        agent,
        "--json",
      ],
      { DBWARD_AGENT_TOKEN: "x" },
    );
    assert.equal(r.code, EXIT.failure);
    assert.equal(r.text.split("\n").length, 1, "one JSON line on standard output");
    const doc = report(r.text);
    assert.deepEqual(
      doc.sections.map((s) => s.config),
      ["bot", "agent"],
    );
    const agentChecks = doc.sections[1]?.checks ?? [];
    assert.ok(
      agentChecks.some((c) => c.status === "fail" && c.message.includes("NOT_SET_URL")),
      JSON.stringify(agentChecks),
    );
  });
});
