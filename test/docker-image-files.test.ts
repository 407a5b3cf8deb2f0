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
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, dirname, join } from "node:path";
import { after, before, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { buildDist } from "../scripts/build.ts";

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

describe("the Docker image's files", () => {
  let work: string;
  let app: string;
  let stages: Stage[];

  before(async () => {
    stages = parseDockerfile(readFileSync(join(ROOT, "Dockerfile"), "utf8"));
    work = mkdtempSync(join(tmpdir(), "dbward-image-"));
    app = join(work, "app");
    const final = stages.at(-1)!;
    assert.equal(final.workdir, "/app", "the final stage works in /app");
    mkdirSync(app);
    for (const copy of final.copies) await materialise(copy, app, work);
  });
  after(() => rmSync(work, { recursive: true, force: true }));

  /** Places one COPY's sources at its destination, as Docker would. */
  async function materialise(copy: Copy, app: string, work: string): Promise<void> {
    const dest = join(app, copy.dest);
    const intoDir = copy.dest.endsWith("/") || copy.sources.length > 1;
    for (const source of copy.sources) {
      const target = intoDir ? join(dest, basename(source)) : dest;
      mkdirSync(dirname(target), { recursive: true });
      if (copy.from === undefined) {
        assert.ok(existsSync(join(ROOT, source)), `COPY ${source}: not in the build context`);
        cpSync(join(ROOT, source), target, { recursive: true });
      } else if (copy.from === "build" && source === "/app/dist") {
        const stage = stages.find((s) => s.name === "build");
        assert.ok(
          stage?.runs.some((r) => r.includes("npm run build")),
          "the build stage runs npm run build",
        );
        await buildDist(join(work, "dist"));
        cpSync(join(work, "dist"), target, { recursive: true });
      } else if (copy.from === "deps" && source === "/app/node_modules") {
        const stage = stages.find((s) => s.name === "deps");
        assert.ok(
          stage?.runs.some((r) => /npm ci --omit=dev/.test(r)),
          "the deps stage installs production dependencies",
        );
        mkdirSync(target, { recursive: true });
        // Hard links: the same files at a new path, in a second, so Node resolves every
        // dependency inside the image's node_modules and never finds a dev-only one above it.
        for (const name of productionModules()) {
          mkdirSync(dirname(join(target, name)), { recursive: true });
          execFileSync("cp", ["-al", join(ROOT, "node_modules", name), join(target, name)]);
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
