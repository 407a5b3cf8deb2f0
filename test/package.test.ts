/**
 * What ships: `npm pack` of this repository, installed into an empty folder with npm as a user
 * would, and run there (`npx dbward --version`, `npx dbward demo`, `npx dbward slack manifest`).
 * Proves the package carries the build, the runtime files and its dependencies, and nothing that
 * exists only for development (TypeScript sources, tests, tsx).
 *
 * better-sqlite3 has no prebuilt binary this machine can download, and compiling it takes about
 * two minutes; the test serves the binary this checkout already compiled from a local mirror
 * through prebuild-install's own mirror setting (npm_config_better_sqlite3_binary_host), the way
 * an installation without access to GitHub does. Everything else comes from npm's cache.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { createReadStream, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { after, before, describe, test } from "node:test";
import { fileURLToPath, pathToFileURL } from "node:url";
import { promisify } from "node:util";

const run = promisify(execFile);
const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
const pkg = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as {
  version: string;
  dependencies: Record<string, string>;
};

describe("the npm package", () => {
  let dir: string;
  let app: string;
  let tarball: string;
  let packed: string[];
  let mirror: Server;
  let env: NodeJS.ProcessEnv;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "dbward-package-"));
    const out = await run("npm", ["pack", "--json", "--pack-destination", dir], {
      cwd: ROOT,
      timeout: 120_000,
      maxBuffer: 64 * 1024 * 1024,
    });
    // npm prints the prepack build's own lines before the JSON.
    const report = JSON.parse(out.stdout.slice(out.stdout.indexOf("["))) as {
      filename: string;
      files: { path: string }[];
    }[];
    tarball = join(dir, report[0]!.filename);
    packed = report[0]!.files.map((f) => f.path);

    mirror = await serveSqliteBinary(dir);
    const { port } = mirror.address() as AddressInfo;
    app = join(dir, "app");
    await run("mkdir", [app]);
    writeFileSync(join(app, "package.json"), JSON.stringify({ name: "try-dbward", private: true }));
    env = {
      ...process.env,
      npm_config_better_sqlite3_binary_host: `http://127.0.0.1:${port}`,
      // Nothing from the checkout may leak into the installed package's runs.
      NODE_OPTIONS: "",
      NODE_PATH: "",
    };
    // Bounded: an install that cannot reach npm's cache or registry fails the suite, never hangs it.
    await run("npm", ["install", "--prefer-offline", "--no-audit", "--no-fund", tarball], {
      cwd: app,
      timeout: 300_000,
      env,
      maxBuffer: 64 * 1024 * 1024,
    });
  });
  after(() => {
    mirror?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test("holds the build and the runtime files, and no sources, tests or development tools", () => {
    for (const file of [
      "bin/dbward.mjs",
      "dist/cli.mjs",
      "dist/THIRD-PARTY-LICENSES.txt",
      "schema.sql",
      "manifest.yml",
      "package.json",
      "deploy/sql/postgres-agent-users.sql",
      "deploy/sql/mysql-agent-users.sql",
    ])
      assert.ok(packed.includes(file), `${file} is in the package`);
    const strays = packed.filter((f) => f.endsWith(".ts") || /(^|\/)(src|test|scripts)\//.test(f));
    assert.deepEqual(strays, [], "no TypeScript, src/, test/ or scripts/ in the package");
    assert.equal(pkg.dependencies.tsx, undefined, "tsx is not a runtime dependency");
    const installed = JSON.parse(
      readFileSync(join(app, "node_modules", "dbward", "package.json"), "utf8"),
    ) as {
      version: string;
    };
    assert.equal(installed.version, pkg.version);
  });

  test("installs into an empty folder and runs the demo there, loading no TypeScript and no tsx", async () => {
    const version = await run("npx", ["--no-install", "dbward", "--version"], { cwd: app, env });
    assert.equal(version.stdout.trim(), pkg.version);
    // The demo runs bot, agent and a database: every module a deployment loads. A module hook
    // (registered through --import, as an operator could) prints each one Node loads.
    writeFileSync(join(dir, "loads.mjs"), RECORD_LOADS);
    writeFileSync(
      join(dir, "hook.mjs"),
      `import { register } from "node:module"; register(${JSON.stringify(pathToFileURL(join(dir, "loads.mjs")).href)});`,
    );
    const bin = join(app, "node_modules", "dbward", "bin", "dbward.mjs");
    const demo = await run(process.execPath, ["--import", join(dir, "hook.mjs"), bin, "demo"], {
      cwd: app,
      env,
      timeout: 120_000,
      maxBuffer: 64 * 1024 * 1024,
    });
    assert.match(demo.stdout, /audit chain verified: \d+ events/);
    assert.match(demo.stdout, /request\.executed/);
    const loaded = demo.stderr.split("\n").filter((l) => l.startsWith("load "));
    assert.ok(
      loaded.some((l) => l.includes("/node_modules/dbward/dist/")),
      "the build is what ran",
    );
    assert.ok(
      loaded.some((l) => l.includes("/node_modules/better-sqlite3/")),
      "the hook saw the dependencies",
    );
    assert.deepEqual(
      loaded.filter((l) => /\.ts$|\/node_modules\/tsx\/|\/node_modules\/@dbward\//.test(l)),
      [],
      "no TypeScript, no tsx and no workspace sources are loaded",
    );
  });

  test("renders the Slack manifest from the file the package ships", async () => {
    const out = await run(
      "npx",
      ["--no-install", "dbward", "slack", "manifest", "--url", "https://dbward.example.com"],
      {
        cwd: app,
        env,
      },
    );
    assert.match(out.stdout, /https:\/\/dbward\.example\.com\/slack\/events/);
  });
});

/** A module hook that prints every module Node loads, for the test above. */
const RECORD_LOADS = `export async function load(url, context, next) {
  process.stderr.write("load " + url + "\\n");
  return next(url, context);
}
`;

/** Serves this checkout's compiled better-sqlite3 binary in prebuild-install's mirror layout. */
async function serveSqliteBinary(dir: string): Promise<Server> {
  const sqlite = join(ROOT, "node_modules", "better-sqlite3");
  const { version } = JSON.parse(readFileSync(join(sqlite, "package.json"), "utf8")) as { version: string };
  const archive = join(dir, "better-sqlite3-prebuilt.tar.gz");
  await run("tar", ["-czf", archive, "-C", sqlite, "build/Release/better_sqlite3.node"]);
  const expected = `/v${version}/better-sqlite3-v${version}-node-v${process.versions.modules}-${process.platform}-${process.arch}.tar.gz`;
  const server = createServer((req, res) => {
    if (req.url !== expected) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { "content-type": "application/gzip" });
    createReadStream(archive).pipe(res);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return server;
}
