/**
 * The deployment files (SECURITY.md: operational hardening). docker-compose.yml is validated by
 * Debian's docker-compose 1.29, which needs no Docker engine (`config -q`), then its normalised
 * form is checked for what the hardening promises: non-root users, read-only root file systems,
 * no-new-privileges, dropped capabilities, health checks, pinned images, and network zones in
 * which only the agents reach the target database. The Dockerfile and the deploy/ configs are
 * checked too; the configs must load with the same code the processes use.
 * docker-compose.socket-mode.yml, the Socket Mode variant, is held to the same hardening and must
 * publish no port at all, run the bot with `slack.mode: socket`, and take SLACK_APP_TOKEN from the
 * environment; those three are checked on the file as written too, so they hold without
 * docker-compose.
 *
 * Every bot and agent service of the three files runs confined: no-new-privileges, its own seccomp
 * profile (deploy/seccomp/dbward-{bot,agent}.json) and its own AppArmor profile (apparmor=dbward-…,
 * deploy/apparmor/); checked as written and as docker-compose normalises it, and the files named
 * must exist (test/container-profiles.test.ts checks what is in them).
 *
 * .ci/run installs docker-compose and sets DBWARD_REQUIRE_COMPOSE=1, so CI cannot skip this.
 */
import assert from "node:assert/strict";
import { execFile, execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { promisify } from "node:util";
import { loadAgentConfig } from "@dbward/agent";
import { parseBotConfig } from "@dbward/bot";
import { parse as parseYaml } from "yaml";

const run = promisify(execFile);

function hasCompose(): boolean {
  try {
    execFileSync("docker-compose", ["version"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

const COMPOSE_FILES = [
  "docker-compose.yml",
  "docker-compose.socket-mode.yml",
  "docker-compose.ha.yml",
] as const;
const compose = hasCompose();
const required = process.env.DBWARD_REQUIRE_COMPOSE === "1";
const skip =
  !compose && !required ? "docker-compose is not installed (apt-get install docker-compose)" : false;

/** Every variable .env.example declares, in order. */
function exampleVariables(): string[] {
  return readFileSync(".env.example", "utf8")
    .split("\n")
    .flatMap((l) => /^([A-Z][A-Z0-9_]*)=/.exec(l)?.[1] ?? []);
}

interface Service {
  image?: string;
  command?: string[];
  user?: string;
  read_only?: boolean;
  security_opt?: string[];
  cap_drop?: string[];
  healthcheck?: { test?: unknown };
  networks?: Record<string, unknown>;
  ports?: unknown[];
  tmpfs?: string[];
  environment?: Record<string, string>;
  volumes?: unknown[];
}
interface Normalised {
  services: Record<string, Service>;
  networks: Record<string, { internal?: boolean }>;
}

const dir = mkdtempSync(join(tmpdir(), "dbward-compose-"));
after(() => rmSync(dir, { recursive: true, force: true }));
let envFiles = 0;
const envFile = (values: Record<string, string>): string => {
  const file = join(dir, `env-${++envFiles}`);
  writeFileSync(
    file,
    Object.entries(values)
      .map(([k, v]) => `${k}=${v}\n`)
      .join(""),
  );
  return file;
};
/** Every variable of .env.example, set to `test-<name in lower case>`. */
const filledValues = (): Record<string, string> =>
  Object.fromEntries(exampleVariables().map((v) => [v, `test-${v.toLowerCase()}`]));
const filled = () => envFile(filledValues());
const composeConfig = (file: string, env: string, ...extra: string[]) =>
  run("docker-compose", ["--env-file", env, "-f", file, "config", ...extra]);

/** The per-service hardening both compose files promise (docs/deployment.md). */
function assertHardened(c: Normalised): void {
  for (const [name, s] of Object.entries(c.services)) {
    assert.match(s.user ?? "", /^[1-9][0-9]*:[1-9][0-9]*$/, `${name} user`);
    assert.equal(s.read_only, true, `${name} read_only`);
    assert.ok(s.security_opt?.includes("no-new-privileges:true"), `${name} no-new-privileges`);
    assert.ok(s.cap_drop?.includes("ALL"), `${name} cap_drop`);
    assert.ok(s.tmpfs?.includes("/tmp"), `${name} tmpfs /tmp`);
    assert.ok(Array.isArray(s.healthcheck?.test), `${name} healthcheck`);
    assert.match(s.image ?? "", /^[a-z0-9./-]+:\d+(\.\d+)+(-[a-z0-9.-]+)?$/, `${name} image ${s.image}`);
  }
}

/** The file as written, `<<` merge keys resolved: what holds without docker-compose. */
const writtenCompose = (file: string): Normalised =>
  parseYaml(readFileSync(file, "utf8"), { merge: true }) as unknown as Normalised;

/** The bot config `service` mounts (as written), loaded as the bot loads it. */
function botConfigMountedBy(c: Normalised, service: string) {
  const mount = (c.services[service]?.volumes ?? [])
    .map((v) => (typeof v === "string" ? v : ""))
    .find((v) => v.endsWith(":/etc/dbward/bot.yml:ro"));
  assert.ok(mount !== undefined, `${service} mounts its config read-only`);
  const path = mount.slice(0, -":/etc/dbward/bot.yml:ro".length).replace(/^\.\//, "");
  return { path, config: parseBotConfig(readFileSync(path, "utf8"), path) };
}

/** Which services join `net`, sorted. */
const membersOf = (c: Normalised, net: string): string[] =>
  Object.entries(c.services)
    .filter(([, s]) => Object.keys(s.networks ?? {}).includes(net))
    .map(([n]) => n)
    .sort();

const DBWARD_IMAGE = /^dbward:/;

/**
 * Every service that runs the dbward image runs under the profiles of the role its command names
 * (`bot` or `agent`); other services (the proxy, the databases) run other programs and keep the
 * engine's defaults. Docker's options are `seccomp=PATH` as written and `seccomp:PATH` once
 * docker-compose 1.29 normalised them. Returns the services checked.
 */
function assertConfined(c: Normalised, file: string): string[] {
  const checked: string[] = [];
  for (const [name, s] of Object.entries(c.services)) {
    const opts = s.security_opt ?? [];
    if (!DBWARD_IMAGE.test(s.image ?? "")) {
      assert.ok(
        !opts.some((o) => /dbward/.test(o)),
        `${file}: ${name} is not dbward and gets no dbward profile`,
      );
      continue;
    }
    const role = s.command?.[0];
    assert.ok(role === "bot" || role === "agent", `${file}: ${name} runs bot or agent (${role})`);
    const seccomp = opts.flatMap((o) => /^seccomp[=:](.+)$/.exec(o)?.[1] ?? []);
    const apparmor = opts.flatMap((o) => /^apparmor[=:](.+)$/.exec(o)?.[1] ?? []);
    assert.ok(opts.includes("no-new-privileges:true"), `${file}: ${name} no-new-privileges`);
    assert.deepEqual(seccomp, [`./deploy/seccomp/dbward-${role}.json`], `${file}: ${name} seccomp`);
    assert.deepEqual(apparmor, [`dbward-${role}`], `${file}: ${name} apparmor`);
    assert.ok(existsSync(seccomp[0] ?? ""), `${file}: ${seccomp[0]} exists`);
    const profile = `deploy/apparmor/dbward-${role}`;
    assert.match(
      readFileSync(profile, "utf8"),
      new RegExp(`^profile dbward-${role} `, "m"),
      `${profile} declares it`,
    );
    checked.push(name);
  }
  return checked.sort();
}

describe("container confinement: every bot and agent service runs under its seccomp and AppArmor profiles", () => {
  const expected: Record<(typeof COMPOSE_FILES)[number], string[]> = {
    "docker-compose.yml": ["agent-migrator", "agent-reader", "bot"],
    "docker-compose.socket-mode.yml": ["agent-migrator", "agent-reader", "bot"],
    "docker-compose.ha.yml": ["agent-migrator", "agent-reader", "bot-1", "bot-2", "bot-3"],
  };
  for (const file of COMPOSE_FILES) {
    test(`${file}, as written`, () => {
      assert.deepEqual(assertConfined(writtenCompose(file), file), expected[file]);
    });
    test(`${file}, as docker-compose normalises it (which reads the seccomp files)`, { skip }, async () => {
      const c = parseYaml((await composeConfig(file, filled())).stdout) as Normalised;
      assert.deepEqual(assertConfined(c, file), expected[file]);
    });
  }
});

describe("docker-compose.yml", () => {
  const config = (env: string, ...extra: string[]) => composeConfig("docker-compose.yml", env, ...extra);

  test("docker-compose config -q accepts it with every variable of .env.example set", { skip }, async () => {
    assert.ok(compose, "docker-compose must be installed where DBWARD_REQUIRE_COMPOSE=1");
    await config(filled(), "-q");
  });

  test("without the secrets it refuses, naming the missing variable", { skip }, async () => {
    await assert.rejects(config(envFile({})), /set [A-Z_]+ in \.env/);
  });

  test("every variable it reads is declared in .env.example, and .env itself is never committed", () => {
    const declared = new Set(exampleVariables());
    for (const file of COMPOSE_FILES) {
      const used = [...readFileSync(file, "utf8").matchAll(/\$\{([A-Z][A-Z0-9_]*)/g)].map((m) => m[1]);
      assert.deepEqual(
        [...new Set(used)].filter((v) => v !== undefined && !declared.has(v)),
        [],
        file,
      );
    }
    assert.ok(readFileSync(".gitignore", "utf8").split("\n").includes(".env"));
    assert.ok(exampleVariables().length > 0);
    for (const line of readFileSync(".env.example", "utf8").split("\n")) {
      assert.doesNotMatch(line, /^[A-Z_]+=.+/, `.env.example must not ship a value: ${line}`);
    }
  });

  describe("hardening, as docker-compose normalises it", { skip }, () => {
    let c: Normalised;
    const services = () => Object.entries(c.services);
    test("is read", async () => {
      c = parseYaml((await config(filled())).stdout) as Normalised;
      assert.deepEqual(Object.keys(c.services).sort(), [
        "agent-migrator",
        "agent-reader",
        "bot",
        "proxy",
        "target",
      ]);
    });

    test("every service runs as a non-root user on a read-only root file system without new privileges, with a health check and a pinned image", () => {
      assertHardened(c);
      assert.equal(
        c.services.bot?.image,
        c.services["agent-reader"]?.image,
        "bot and agents run the same image",
      );
    });

    test("network zones: the target is reachable by the agents only, and only the proxy is published", () => {
      const members = (net: string) => membersOf(c, net);
      assert.deepEqual(Object.keys(c.services.target?.networks ?? {}), ["data"]);
      assert.deepEqual(members("data"), ["agent-migrator", "agent-reader", "target"]);
      assert.deepEqual(members("control"), ["agent-migrator", "agent-reader", "proxy"]);
      assert.deepEqual(members("edge"), ["bot", "proxy"]);
      assert.equal(c.networks.data?.internal, true);
      assert.equal(c.networks.control?.internal, true);
      assert.deepEqual(
        services()
          .filter(([, s]) => (s.ports ?? []).length > 0)
          .map(([n]) => n),
        ["proxy"],
      );
    });

    test("each service gets only its own secrets", () => {
      const env = (name: string) => Object.keys(c.services[name]?.environment ?? {});
      assert.ok(!env("bot").some((k) => /PASSWORD|_URL$/.test(k)), "the bot holds no database credential");
      assert.ok(!env("agent-reader").includes("DBWARD_ADMIN_TOKEN"));
      assert.ok(
        !env("agent-reader").includes("SHOP_MIGRATE_URL"),
        "the reader cannot reach the migrator's login",
      );
      assert.ok(!env("proxy").length, "the proxy needs no secret");
    });

    test("the bot trusts X-Forwarded-For from the proxy's fixed address only", () => {
      const proxyNet = (c.services.proxy?.networks?.edge ?? {}) as { ipv4_address?: string };
      const bot = parseBotConfig(readFileSync("deploy/bot.yml", "utf8"), "deploy/bot.yml");
      assert.deepEqual(bot.http.trusted_proxies, [`${proxyNet.ipv4_address}/32`]);
    });
  });
});

describe("docker-compose.socket-mode.yml (Slack in Socket Mode, no published port)", () => {
  const FILE = "docker-compose.socket-mode.yml";
  const written = () => writtenCompose(FILE);
  const botConfigOf = (c: Normalised) => botConfigMountedBy(c, "bot").config;

  test("as written, no service publishes a port", () => {
    const c = written();
    for (const [name, svc] of Object.entries(c.services)) {
      assert.equal(svc.ports, undefined, `${name} publishes a port`);
    }
  });

  test("as written, the bot runs with slack mode socket and trusts only the proxy's fixed address", () => {
    const c = written();
    const bot = botConfigOf(c);
    assert.equal(bot.slack?.mode, "socket");
    const proxyNet = (c.services.proxy?.networks?.api ?? {}) as { ipv4_address?: string };
    assert.deepEqual(bot.http.trusted_proxies, [`${proxyNet.ipv4_address}/32`]);
  });

  test("as written, SLACK_APP_TOKEN and the other Slack secrets are required from the environment, never literals", () => {
    const env = written().services.bot?.environment ?? {};
    assert.match(env.SLACK_APP_TOKEN ?? "", /^\$\{SLACK_APP_TOKEN:\?[^}]+\}$/);
    for (const name of ["SLACK_BOT_TOKEN", "SLACK_BOT_ID", "SLACK_BOT_USER_ID"]) {
      assert.match(env[name] ?? "", new RegExp(`^\\$\\{${name}:\\?[^}]+\\}$`), name);
    }
    assert.equal(env.SLACK_SIGNING_SECRET, undefined, "Socket Mode has no signing secret to check");
  });

  describe("as docker-compose normalises it", { skip }, () => {
    let c: Normalised;
    test("is accepted with every variable of .env.example set, and read", async () => {
      await composeConfig(FILE, filled(), "-q");
      c = parseYaml((await composeConfig(FILE, filled())).stdout) as Normalised;
      assert.deepEqual(Object.keys(c.services).sort(), [
        "agent-migrator",
        "agent-reader",
        "bot",
        "proxy",
        "target",
      ]);
    });

    test("without SLACK_APP_TOKEN it refuses, naming it", async () => {
      const values = filledValues();
      delete values.SLACK_APP_TOKEN;
      await assert.rejects(composeConfig(FILE, envFile(values)), /set SLACK_APP_TOKEN in \.env/);
    });

    test("publishes no port, and the bot's app token is the one from the environment", () => {
      assert.deepEqual(
        Object.entries(c.services)
          .filter(([, svc]) => (svc.ports ?? []).length > 0)
          .map(([n]) => n),
        [],
      );
      assert.equal(c.services.bot?.environment?.SLACK_APP_TOKEN, filledValues().SLACK_APP_TOKEN);
    });

    test("keeps every service hardened", () => {
      assertHardened(c);
    });

    test("network zones: only the bot has a route out; proxy, agents and target sit on internal networks", () => {
      assert.deepEqual(membersOf(c, "egress"), ["bot"]);
      assert.deepEqual(membersOf(c, "api"), ["bot", "proxy"]);
      assert.deepEqual(membersOf(c, "control"), ["agent-migrator", "agent-reader", "proxy"]);
      assert.deepEqual(membersOf(c, "data"), ["agent-migrator", "agent-reader", "target"]);
      for (const net of ["api", "control", "data"]) assert.equal(c.networks[net]?.internal, true, net);
      assert.notEqual(c.networks.egress?.internal, true);
      const env = Object.keys(c.services.bot?.environment ?? {});
      assert.ok(!env.some((k) => /PASSWORD|_URL$/.test(k)), "the bot holds no database credential");
    });
  });
});

describe("docker-compose.ha.yml (three bot instances on one PostgreSQL state)", () => {
  const FILE = "docker-compose.ha.yml";
  const BOTS = ["bot-1", "bot-2", "bot-3"];
  const AGENTS = ["agent-migrator", "agent-reader"];
  const KEY_TARGET = "/data/signing-key.json";
  const written = () => writtenCompose(FILE);
  const required = (name: string) => new RegExp(`^\\$\\{${name}:\\?[^}]+\\}$`);
  /** The bind mount that puts the signing key into `service`'s data directory. */
  const keyMount = (c: Normalised, service: string) =>
    (c.services[service]?.volumes ?? []).find(
      (v): v is { type?: string; source?: string; target?: string; read_only?: boolean } =>
        typeof v === "object" && v !== null && (v as { target?: unknown }).target === KEY_TARGET,
    );

  test("as written, every bot instance loads one config whose state.url names PostgreSQL and carries no password", () => {
    const c = written();
    assert.deepEqual(
      Object.keys(c.services).filter((n) => n.startsWith("bot")),
      BOTS,
    );
    const mounted = BOTS.map((b) => botConfigMountedBy(c, b));
    assert.deepEqual(new Set(mounted.map((m) => m.path)), new Set(["deploy/bot-ha.yml"]));
    const url = new URL(mounted[0]?.config.state.url ?? "missing:");
    assert.match(url.protocol, /^postgres(ql)?:$/);
    assert.equal(url.password, "", "the password comes from DBWARD_STATE_PASSWORD, never the config");
    assert.equal(url.hostname, "state-db");
  });

  test("as written, DBWARD_STATE_PASSWORD is a required reference to .env in every instance and in state-db, never a literal", () => {
    const c = written();
    for (const name of [...BOTS, "state-db"]) {
      const env = c.services[name]?.environment ?? {};
      assert.match(env.DBWARD_STATE_PASSWORD ?? "", required("DBWARD_STATE_PASSWORD"), name);
    }
    assert.match(
      c.services["state-db"]?.environment?.POSTGRES_PASSWORD ?? "",
      required("STATE_POSTGRES_PASSWORD"),
    );
  });

  test("as written, every instance mounts the one signing key file read-only into its data directory, and has a data volume of its own", () => {
    const c = written();
    const mounts = BOTS.map((b) => keyMount(c, b));
    for (const [i, m] of mounts.entries()) {
      assert.ok(m !== undefined, `${BOTS[i]} mounts ${KEY_TARGET}`);
      assert.equal(m.type, "bind");
      assert.equal(m.read_only, true, `${BOTS[i]} mounts the key read-only`);
    }
    assert.equal(new Set(mounts.map((m) => m?.source)).size, 1, "one key file for every instance");
    const dataVolumes = BOTS.map((b) =>
      (c.services[b]?.volumes ?? []).find((v) => typeof v === "string" && v.endsWith(":/data")),
    );
    assert.equal(new Set(dataVolumes).size, BOTS.length, "each instance has its own data directory");
    assert.ok(
      readFileSync("deploy/signing-key/.gitignore", "utf8").split("\n").includes("*"),
      "the key's directory commits nothing but its .gitignore",
    );
  });

  test("as written, the proxy load-balances over every instance, and each instance trusts only the proxy's fixed address", () => {
    const c = written();
    const volumes = (c.services.proxy?.volumes ?? []) as string[];
    assert.ok(volumes.includes("./deploy/nginx-ha.conf:/etc/nginx/conf.d/default.conf:ro"));
    const conf = readFileSync("deploy/nginx-ha.conf", "utf8");
    const upstream = /upstream (\w+) \{([^}]*)\}/.exec(conf);
    assert.ok(upstream !== null, "nginx-ha.conf has an upstream block");
    const servers = [...(upstream[2] ?? "").matchAll(/^\s*server ([\w.-]+):(\d+)\b/gm)].map((m) => m[1]);
    assert.deepEqual(servers, BOTS);
    assert.match(conf, new RegExp(`proxy_pass http://${upstream[1]};`));
    assert.doesNotMatch(conf, /proxy_pass http:\/\/bot-\d/, "no location bypasses the upstream");
    const proxyNet = (c.services.proxy?.networks?.edge ?? {}) as { ipv4_address?: string };
    const { config } = botConfigMountedBy(c, "bot-1");
    assert.deepEqual(config.http.trusted_proxies, [`${proxyNet.ipv4_address}/32`]);
  });

  test("as written, the agents reach the bots through the proxy only", () => {
    const c = written();
    for (const a of AGENTS) {
      const nets = (c.services[a]?.networks ?? []) as unknown as string[];
      assert.deepEqual([...nets].sort(), ["control", "data"], a);
    }
    const proxyControl = (c.services.proxy?.networks?.control ?? {}) as { aliases?: string[] };
    assert.deepEqual(proxyControl.aliases, ["${DBWARD_DOMAIN:?set DBWARD_DOMAIN in .env}"]);
  });

  describe("as docker-compose normalises it", { skip }, () => {
    let c: Normalised;
    test("is accepted with every variable of .env.example set, and read", async () => {
      await composeConfig(FILE, filled(), "-q");
      c = parseYaml((await composeConfig(FILE, filled())).stdout) as Normalised;
      assert.deepEqual(Object.keys(c.services).sort(), [...AGENTS, ...BOTS, "proxy", "state-db", "target"]);
    });

    test("without DBWARD_STATE_PASSWORD it refuses, naming it", async () => {
      const values = filledValues();
      delete values.DBWARD_STATE_PASSWORD;
      await assert.rejects(composeConfig(FILE, envFile(values)), /set DBWARD_STATE_PASSWORD in \.env/);
    });

    test("keeps every service hardened, and every instance runs the agents' image", () => {
      assertHardened(c);
      for (const b of BOTS) assert.equal(c.services[b]?.image, c.services["agent-reader"]?.image, b);
    });

    test("network zones: the state store is reachable by the bots alone, never by the agents; the target by the agents alone", () => {
      assert.deepEqual(Object.keys(c.services["state-db"]?.networks ?? {}), ["state"]);
      assert.deepEqual(membersOf(c, "state"), [...BOTS, "state-db"]);
      assert.deepEqual(membersOf(c, "edge"), [...BOTS, "proxy"]);
      assert.deepEqual(membersOf(c, "control"), [...AGENTS, "proxy"]);
      assert.deepEqual(membersOf(c, "data"), [...AGENTS, "target"]);
      for (const net of ["state", "control", "data"]) assert.equal(c.networks[net]?.internal, true, net);
      assert.deepEqual(
        Object.entries(c.services)
          .filter(([, s]) => (s.ports ?? []).length > 0)
          .map(([n]) => n),
        ["proxy"],
      );
    });

    test("each instance holds the state password from .env and no other credential; the signing key is mounted read-only into each", () => {
      const source = keyMount(c, "bot-1")?.source;
      assert.ok(source?.endsWith("/deploy/signing-key/signing-key.json"), source);
      for (const b of BOTS) {
        const env = c.services[b]?.environment ?? {};
        assert.equal(env.DBWARD_STATE_PASSWORD, filledValues().DBWARD_STATE_PASSWORD, b);
        assert.deepEqual(
          Object.keys(env).filter((k) => /PASSWORD|_URL$/.test(k)),
          ["DBWARD_STATE_PASSWORD"],
          `${b} holds no database credential but the state's`,
        );
        const key = keyMount(c, b);
        assert.equal(key?.read_only, true, b);
        assert.equal(key.source, source, b);
      }
    });
  });
});

describe("deploy/ configs and the Dockerfile", () => {
  test("deploy/bot.yml loads and declares both agents", () => {
    const bot = parseBotConfig(readFileSync("deploy/bot.yml", "utf8"), "deploy/bot.yml");
    assert.deepEqual(
      bot.agents.map((a) => a.id),
      ["agent-reader", "agent-migrator"],
    );
  });

  test("the agent configs load; the reader may only read and the migrator never reads", () => {
    const env = {
      DBWARD_AGENT_TOKEN: "x",
      SHOP_READ_URL: "postgres://r@target/shop",
      SHOP_MIGRATE_URL: "postgres://m@target/shop",
    };
    const reader = loadAgentConfig(readFileSync("deploy/agent.yml", "utf8"), env, "deploy/agent.yml");
    const migrator = loadAgentConfig(
      readFileSync("deploy/agent-migrator.yml", "utf8"),
      env,
      "deploy/agent-migrator.yml",
    );
    assert.deepEqual(
      reader.databases.map((d) => [d.urlEnv, d.operations]),
      [["SHOP_READ_URL", ["read"]]],
    );
    assert.deepEqual(
      migrator.databases.map((d) => [d.urlEnv, d.operations]),
      [["SHOP_MIGRATE_URL", ["write", "ddl"]]],
    );
    assert.match(reader.botUrl, /^https:\/\//, "agents reach the bot over TLS only");
  });

  test("the Dockerfile pins Node 20 by version, installs production dependencies and runs as node", () => {
    const text = readFileSync("Dockerfile", "utf8");
    assert.match(text, /^ARG NODE_IMAGE=node:20\.\d+\.\d+-bookworm-slim$/m);
    assert.match(text, /npm ci --omit=dev/);
    assert.match(text, /^USER node$/m);
    assert.match(text, /^ENTRYPOINT \["node", "bin\/dbward\.mjs"\]$/m);
    assert.doesNotMatch(text, /:latest\b/);
  });
});
