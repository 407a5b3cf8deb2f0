/**
 * The Docker image ships what the CLI reads. There is no Docker engine here, so the test
 * assembles the final stage's file system from the Dockerfile's own COPY lines — files from the
 * build context as they are, the `build` stage's dist/ by running the same build, the `deps`
 * stage's node_modules as the production subset of this checkout's (the lockfile marks what is
 * dev-only) — and runs the commands the docs show inside it. A runtime file missing from the
 * COPY lines (manifest.yml once was) fails here, not in a user's container.
 */
import assert from "node:assert/strict";
import { execFile, execFileSync } from "node:child_process";
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
} from "node:fs";
import { basename, dirname, join } from "node:path";
import { after, before, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

const run = promisify(execFile);
const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");

interface Copy {
  readonly from: string | undefined;
  readonly sources: readonly string[];
  readonly dest: string;
}
interface Stage {
  readonly name: string | undefined;
  readonly workdir: string;
  readonly runs: readonly string[];
  readonly copies: readonly Copy[];
}

/** The Dockerfile's stages: FROM … [AS name], WORKDIR, RUN and COPY lines (with continuations). */
function parseDockerfile(text: string): Stage[] {
  const lines = text
    .replace(/\\\n/g, " ")
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l !== "" && !l.startsWith("#"));
  const stages: { name: string | undefined; workdir: string; runs: string[]; copies: Copy[] }[] = [];
  for (const line of lines) {
    const [instruction = "", ...args] = line.split(/\s+/);
    const stage = stages.at(-1);
    switch (instruction.toUpperCase()) {
      case "FROM":
        stages.push({ name: args[2], workdir: "/", runs: [], copies: [] });
        break;
      case "WORKDIR":
        if (stage) stage.workdir = args[0] ?? "/";
        break;
      case "RUN":
        stage?.runs.push(args.join(" "));
        break;
      case "COPY": {
        const from = args.find((a) => a.startsWith("--from="))?.slice("--from=".length);
        const paths = args.filter((a) => !a.startsWith("--"));
        assert.ok(paths.length >= 2, `COPY needs a source and a destination: ${line}`);
        stage?.copies.push({ from, sources: paths.slice(0, -1), dest: paths.at(-1)! });
        break;
      }
      default:
        break;
    }
  }
  return stages;
}

/** The production dependencies of this checkout: what `npm ci --omit=dev` would install. */
function productionModules(): string[] {
  const lock = JSON.parse(readFileSync(join(ROOT, "package-lock.json"), "utf8")) as {
    packages: Record<string, { dev?: boolean; link?: boolean }>;
  };
  return Object.entries(lock.packages)
    .filter(([path, p]) => /^node_modules\/(@[^/]+\/)?[^/]+$/.test(path) && p.dev !== true && p.link !== true)
    .map(([path]) => path.slice("node_modules/".length))
    .filter((name) => existsSync(join(ROOT, "node_modules", name)));
}

/** A .dockerignore pattern as Docker reads it: `**` any folders, `*` and `?` within one name. */
function ignoreMatcher(pattern: string): RegExp {
  const body = pattern
    .replace(/^\/+|\/+$/g, "")
    .split(/(\*\*\/|\*\*|\*|\?)/)
    .map((part) =>
      part === "**/"
        ? "(?:.*/)?"
        : part === "**"
          ? ".*"
          : part === "*"
            ? "[^/]*"
            : part === "?"
              ? "[^/]"
              : part.replace(/[.+^${}()|[\]\\]/g, "\\$&"),
    )
    .join("");
  return new RegExp(`^${body}$`);
}

/** Whether .dockerignore keeps `path` (or a folder above it) out of the build context. */
function isIgnored(path: string): boolean {
  const rules = readFileSync(join(ROOT, ".dockerignore"), "utf8")
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l !== "" && !l.startsWith("#"));
  const parts = path.replace(/^\.\//, "").split("/");
  const prefixes = parts.map((_, i) => parts.slice(0, i + 1).join("/"));
  let ignored = false;
  // The last matching rule wins; `!` lets a path back in.
  for (const rule of rules) {
    const negated = rule.startsWith("!");
    const matcher = ignoreMatcher(negated ? rule.slice(1) : rule);
    if (prefixes.some((p) => matcher.test(p))) ignored = !negated;
  }
  return ignored;
}

/** Docker's COPY: a folder's contents go into the destination; a file into it when it ends in /. */
function copyInto(from: string, source: string, dest: string, many: boolean): void {
  if (statSync(from).isDirectory()) {
    cpSync(from, dest, { recursive: true });
    return;
  }
  const target = dest.endsWith("/") || many ? join(dest, basename(source)) : dest;
  mkdirSync(dirname(target), { recursive: true });
  cpSync(from, target);
}

describe("the Docker image's files", () => {
  let work: string;
  let app: string;
  let stages: Stage[];

  before(async () => {
    stages = parseDockerfile(readFileSync(join(ROOT, "Dockerfile"), "utf8"));
    // Inside the checkout, so the hard links below never cross a file system (/tmp may be tmpfs).
    mkdirSync(join(ROOT, "node_modules", ".cache"), { recursive: true });
    work = mkdtempSync(join(ROOT, "node_modules", ".cache", "dbward-image-"));
    app = join(work, "app");
    const final = stages.at(-1)!;
    assert.equal(final.workdir, "/app", "the final stage works in /app");
    mkdirSync(app);
    for (const copy of final.copies) await materialise(copy, app);
  });
  after(() => rmSync(work, { recursive: true, force: true }));

  const stage = (name: string): Stage => {
    const found = stages.find((s) => s.name === name);
    assert.ok(found, `the Dockerfile has a stage named ${name}`);
    return found;
  };

  /** A COPY from the build context: refused, as docker build would, when .dockerignore drops it. */
  function copyFromContext(copy: Copy, root: string): void {
    for (const source of copy.sources) {
      assert.ok(!isIgnored(source), `COPY ${source}: .dockerignore keeps it out of the build context`);
      assert.ok(existsSync(join(ROOT, source)), `COPY ${source}: not in the build context`);
      copyInto(join(ROOT, source), source, join(root, copy.dest), copy.sources.length > 1);
    }
  }

  /**
   * The build stage's /app/dist: its own COPY lines (and its base stage's) laid out in a folder,
   * with the dependencies its `npm ci` would install, and `npm run build` run there.
   */
  async function buildStageDist(): Promise<string> {
    const build = stage("build");
    assert.ok(
      build.runs.includes("npm ci --no-audit --no-fund"),
      "the build stage installs every dependency",
    );
    assert.ok(build.runs.includes("npm run build"), "the build stage runs npm run build");
    const ctx = join(work, "build-stage");
    mkdirSync(ctx);
    for (const copy of [...stage("toolchain").copies, ...build.copies]) copyFromContext(copy, ctx);
    // node_modules as npm ci lays it out: the workspaces linked to this stage's own folders.
    mkdirSync(join(ctx, "node_modules", "@dbward"), { recursive: true });
    for (const name of readdirSync(join(ROOT, "node_modules"))) {
      if (name === "@dbward" || name === ".cache") continue;
      symlinkSync(join(ROOT, "node_modules", name), join(ctx, "node_modules", name));
    }
    for (const ws of ["shared", "bot", "agent", "cli"])
      symlinkSync(join(ctx, ws), join(ctx, "node_modules", "@dbward", ws));
    await run(process.execPath, ["--import", "tsx", join(ctx, "scripts", "build.ts")], {
      cwd: ctx,
      timeout: 120_000,
    });
    return join(ctx, "dist");
  }

  /** Places one COPY's sources at its destination, as Docker would. */
  async function materialise(copy: Copy, app: string): Promise<void> {
    if (copy.from === undefined) {
      copyFromContext(copy, app);
      return;
    }
    for (const source of copy.sources) {
      const dest = join(app, copy.dest);
      if (copy.from === "build" && source === "/app/dist") {
        copyInto(await buildStageDist(), source, dest, copy.sources.length > 1);
      } else if (copy.from === "deps" && source === "/app/node_modules") {
        assert.ok(
          stage("deps").runs.includes("npm ci --omit=dev --no-audit --no-fund && npm cache clean --force"),
          "the deps stage installs the production dependencies, install scripts included",
        );
        mkdirSync(dest, { recursive: true });
        // Hard links: the same files at a new path, in a second, so Node resolves every
        // dependency inside the image's node_modules and never finds a dev-only one above it.
        for (const name of productionModules()) {
          mkdirSync(dirname(join(dest, name)), { recursive: true });
          execFileSync("cp", ["-al", join(ROOT, "node_modules", name), join(dest, name)]);
        }
      } else {
        assert.fail(
          `COPY --from=${copy.from} ${source}: this test does not know that stage's output; teach it`,
        );
      }
    }
  }

  const dbward = (args: string[], input?: string) => {
    const child = run(process.execPath, ["bin/dbward.mjs", ...args], {
      cwd: app,
      env: { PATH: process.env.PATH ?? "", HOME: work, NODE_ENV: "production" },
      timeout: 120_000,
    });
    if (input !== undefined) {
      child.child.stdin?.end(input);
    }
    return child;
  };

  test("holds the build, the runtime files and production dependencies only, no sources or tests", () => {
    for (const file of ["bin/dbward.mjs", "dist/cli.mjs", "schema.sql", "manifest.yml", "package.json"])
      assert.ok(statSync(join(app, file)).isFile(), `${file} is in the image`);
    for (const absent of [
      "cli/src",
      "bot/src",
      "test",
      "scripts",
      "node_modules/tsx",
      "node_modules/typescript",
    ])
      assert.ok(!existsSync(join(app, absent)), `${absent} is not in the image`);
    assert.ok(existsSync(join(app, "node_modules", "better-sqlite3")), "runtime dependencies are");
  });

  test("runs the commands the docs show: help, version, keygen, the Slack manifests, review and the demo", async () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { version: string };
    assert.match((await dbward(["--help"])).stdout, /dbward <command>/);
    assert.equal((await dbward(["--version"])).stdout.trim(), pkg.version);
    const key = JSON.parse((await dbward(["keygen", "--json"])).stdout) as {
      kid: string;
      public_key: string;
    };
    assert.match(key.kid, /^[0-9a-f]{16}$/);
    assert.match(key.public_key, /^[A-Za-z0-9_-]{43}$/);
    assert.match(
      (await dbward(["slack", "manifest", "--url", "https://dbward.example.com"])).stdout,
      /https:\/\/dbward\.example\.com\/slack\/events/,
    );
    assert.match((await dbward(["slack", "manifest", "--socket-mode"])).stdout, /socket_mode_enabled: true/);
    const review = JSON.parse((await dbward(["review", "--json"], "SELECT 1")).stdout) as { class: string };
    assert.equal(review.class, "read");
    const demo = await dbward(["demo"]);
    assert.match(demo.stdout, /audit chain verified: \d+ events/);
  });

  test("doctor reads a deployment's bot config inside the image and names what to fix", async () => {
    const dataDir = join(work, "data");
    const res = await dbward([
      "doctor",
      "--bot-config",
      join(ROOT, "deploy", "bot.yml"),
      "--data-dir",
      dataDir,
    ]).catch((err: { code: number; stdout: string; stderr: string }) => err);
    const text = `${res.stdout}\n${res.stderr}`;
    // Missing secrets in this environment are findings; a missing file of the image is a crash.
    assert.doesNotMatch(text, /ENOENT|Cannot find module|ERR_MODULE_NOT_FOUND|incomplete/, text);
    assert.match(text, /state|signing key|config/i, text);
  });
});
