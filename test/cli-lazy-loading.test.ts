/**
 * `dbward --help`, `--version`, a subcommand's `--help` and the commands that only talk HTTP to
 * the bot load none of the heavy packages (Bolt, the database drivers, the SQL parsers, the MCP
 * SDK): the real CLI runs in a child process under a module-resolution hook that records every
 * URL Node resolves. `dbward review` is the control: it must load the SQL parsers, so a hook
 * that saw nothing could not pass this suite.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { startBotHarness, type BotHarness } from "./support/bot-harness.ts";
import { FakeSlack } from "./support/fake-slack.ts";
import { dropStateDatabase, ensureStateDatabase } from "./support/postgres-state.ts";
import { DBWARD_BIN, freePort, untilBotAnswers } from "./support/processes.ts";

const RECORDER = new URL("./support/record-resolutions.mjs", import.meta.url).pathname;
const ROOT_PACKAGE = new URL("../package.json", import.meta.url);

/** What only running the bot, an agent, a review or the MCP server needs. */
const HEAVY = [
  "@slack/bolt",
  "@slack/socket-mode",
  "pg",
  "mysql2",
  "better-sqlite3",
  "node-sql-parser",
  "libpg-query",
  "@modelcontextprotocol/sdk",
  "express",
  "kysely",
] as const;

interface Run {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
  /** The packages (by name) whose modules Node resolved. */
  readonly packages: ReadonlySet<string>;
}

const dir = mkdtempSync(join(tmpdir(), "dbward-lazy-"));
let runs = 0;

async function runRecorded(args: string[], env: Record<string, string> = {}, stdin = ""): Promise<Run> {
  const record = join(dir, `resolved-${++runs}.txt`);
  const child = spawn(process.execPath, ["--import", RECORDER, DBWARD_BIN, ...args], {
    env: { PATH: process.env.PATH ?? "", DBWARD_RECORD_RESOLUTIONS: record, ...env },
    stdio: ["pipe", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (d: Buffer) => (stdout += d.toString("utf8")));
  child.stderr.on("data", (d: Buffer) => (stderr += d.toString("utf8")));
  child.stdin.end(stdin);
  const code = await new Promise<number | null>((resolve) => child.on("close", resolve));
  return { code, stdout, stderr, packages: packagesIn(readFileSync(record, "utf8")) };
}

function packagesIn(urls: string): Set<string> {
  const names = new Set<string>();
  for (const url of urls.split("\n")) {
    const m = /\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url);
    if (m?.[1] !== undefined) names.add(m[1]);
  }
  return names;
}

function assertLight(run: Run): void {
  assert.equal(run.code, 0, run.stderr);
  assert.ok(run.packages.has("yargs"), "the hook recorded the packages that did load");
  assert.deepEqual(
    HEAVY.filter((name) => run.packages.has(name)),
    [],
    "heavy packages were loaded",
  );
}

describe("what the CLI loads", () => {
  let h: BotHarness;
  before(async () => {
    h = await startBotHarness();
  });
  after(async () => {
    await h.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test("dbward --help lists the commands and loads none of the heavy packages", async () => {
    const run = await runRecorded(["--help"]);
    assertLight(run);
    assert.match(run.stdout, /dbward request +create, follow and decide requests/);
  });

  test("dbward --version prints the root package's version and loads none of them", async () => {
    const run = await runRecorded(["--version"]);
    assertLight(run);
    const { version } = JSON.parse(readFileSync(ROOT_PACKAGE, "utf8")) as { version: string };
    assert.equal(run.stdout.trim(), version);
  });

  test("dbward request list --help describes its options and loads none of them", async () => {
    const run = await runRecorded(["request", "list", "--help"]);
    assertLight(run);
    assert.match(run.stdout, /--status/);
  });

  test("API-client commands against a running bot load none of them", async () => {
    const env = { DBWARD_URL: h.url, DBWARD_TOKEN: await h.tokenFor("alice") };
    const created = await h.call(env.DBWARD_TOKEN, "POST", "/api/requests", {
      database: "shop",
      environment: "production",
      sql: "SELECT 1",
      reason: "lazy loading",
    });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const id = (created.body as { id: number }).id;

    const list = await runRecorded(["request", "list"], env);
    assertLight(list);
    assert.match(list.stdout, new RegExp(`#${id} `));

    const show = await runRecorded(["request", "show", String(id), "--json"], env);
    assertLight(show);
    assert.equal((JSON.parse(show.stdout) as { id: number }).id, id);

    const tokens = await runRecorded(["token", "list"], env);
    assertLight(tokens);
    assert.match(tokens.stdout, /alice/);

    assertLight(await runRecorded(["audit", "--help"]));
    const audit = await runRecorded(["audit", "list", "--limit", "5"], {
      DBWARD_URL: h.url,
      DBWARD_TOKEN: h.adminToken,
    });
    assertLight(audit);
    assert.match(audit.stdout, /user\.created/);
  });

  test("control: dbward review loads the SQL parsers, and the hook sees them", async () => {
    const run = await runRecorded(["review", "--json"], {}, "SELECT 1");
    assert.equal(run.code, 0, run.stderr);
    assert.ok(run.packages.has("libpg-query"), [...run.packages].join(", "));
    assert.ok(run.packages.has("node-sql-parser"), [...run.packages].join(", "));
  });
});

/**
 * The bot loads what its config uses: Bolt only with Slack configured, pg only on PostgreSQL
 * state, node-sql-parser only for a MySQL (or SQLite) database. The second bot, which uses all
 * three, is the control: the hook must see each package there.
 */
describe("what the bot loads", () => {
  const botDir = mkdtempSync(join(tmpdir(), "dbward-lazy-bot-"));
  let slack: FakeSlack;
  before(async () => {
    slack = await FakeSlack.start();
  });
  after(async () => {
    await slack.close();
    await dropStateDatabase(botDir);
    rmSync(botDir, { recursive: true, force: true });
  });

  /** Starts `dbward bot` under the recorder, waits for /health, stops it, and names its packages. */
  async function botPackages(
    name: string,
    config: string,
    env: Record<string, string>,
  ): Promise<Set<string>> {
    const port = await freePort();
    const file = join(botDir, `${name}.yml`);
    writeFileSync(file, `listen: { host: 127.0.0.1, port: ${port} }\n${config}`);
    const record = join(botDir, `${name}-resolved.txt`);
    const child = spawn(
      process.execPath,
      ["--import", RECORDER, DBWARD_BIN, "bot", "--config", file, "--data-dir", join(botDir, name)],
      {
        env: {
          PATH: process.env.PATH ?? "",
          DBWARD_RECORD_RESOLUTIONS: record,
          DBWARD_LOG_LEVEL: "warn",
          ...env,
        },
        stdio: ["ignore", "ignore", "pipe"],
      },
    );
    let stderr = "";
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString("utf8")));
    const closed = new Promise((resolve) => child.on("close", resolve));
    try {
      await untilBotAnswers(port, child, () => stderr, { intervalMs: 50 });
    } finally {
      child.kill("SIGTERM");
      await closed;
    }
    return packagesIn(readFileSync(record, "utf8"));
  }

  const BASE = `workflows: [{ name: reads, operations: [read], auto_approve: always }]
users: [{ id: root, name: Root, roles: [admin] }]
`;
  const ADMIN = { DBWARD_ADMIN_TOKEN: `dbw_${"A".repeat(43)}` };

  test("an API-only bot on SQLite state with a PostgreSQL database loads no Bolt, pg or node-sql-parser", async () => {
    const loaded = await botPackages(
      "api-only",
      `databases: [{ name: shop, dialect: postgres, environments: [production] }]\n${BASE}`,
      ADMIN,
    );
    assert.ok(loaded.has("better-sqlite3") && loaded.has("libpg-query"), [...loaded].join(", "));
    assert.deepEqual(
      ["@slack/bolt", "pg", "node-sql-parser"].filter((p) => loaded.has(p)),
      [],
      "loaded although the config does not use it",
    );
  });

  test("control: with Slack, PostgreSQL state and a MySQL database, the hook sees all three", async () => {
    const loaded = await botPackages(
      "everything",
      `databases: [{ name: legacy, dialect: mysql, environments: [production] }]
state: { url: "${await ensureStateDatabase(botDir)}" }
${BASE}`,
      { ...ADMIN, ...slack.env() },
    );
    for (const p of ["@slack/bolt", "pg", "node-sql-parser"])
      assert.ok(loaded.has(p), `${p} in ${[...loaded].join(", ")}`);
  });
});
