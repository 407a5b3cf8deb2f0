/**
 * `npm run build`: compiles the dbward command into dist/ with esbuild. Our own code (the four
 * workspaces) is bundled, split at every dynamic import so a subcommand's code loads only when
 * it runs; third-party packages stay external and are loaded from node_modules as installed, so
 * native modules (better-sqlite3), WASM files (libpg-query) and CommonJS packages (Bolt) keep
 * working exactly as npm put them. Source maps go beside the output.
 *
 * The root package.json is what an installed package has, so it must list every runtime
 * dependency the workspaces declare, at the same version; the build refuses otherwise rather
 * than bundling a package by accident or shipping one the installation will not have.
 */
import { readFileSync, rmSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { build, type Metafile } from "esbuild";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
export const WORKSPACES = ["shared", "bot", "agent", "cli"] as const;
/** Development-time packages a workspace may list that must never be a runtime dependency. */
const NOT_AT_RUN_TIME = new Set(["tsx", "typescript", "esbuild"]);

type Manifest = { dependencies?: Record<string, string> };
const readManifest = (dir: string): Manifest =>
  JSON.parse(readFileSync(join(ROOT, dir, "package.json"), "utf8")) as Manifest;

/** Every runtime dependency a workspace declares, checked against the root package.json. */
export function runtimeDependencies(): Record<string, string> {
  const root = readManifest(".").dependencies ?? {};
  const problems: string[] = [];
  for (const ws of WORKSPACES) {
    for (const [name, version] of Object.entries(readManifest(ws).dependencies ?? {})) {
      if (name.startsWith("@dbward/")) continue;
      if (NOT_AT_RUN_TIME.has(name))
        problems.push(`${ws}/package.json: ${name} is a build tool, not a dependency`);
      else if (root[name] === undefined)
        problems.push(`${ws}/package.json: ${name} is missing from package.json`);
      else if (root[name] !== version)
        problems.push(`${ws}/package.json: ${name}@${version}, but package.json has ${root[name]}`);
    }
  }
  for (const name of Object.keys(root))
    if (NOT_AT_RUN_TIME.has(name)) problems.push(`package.json: ${name} is a build tool, not a dependency`);
  if (problems.length > 0)
    throw new Error(`build: runtime dependencies disagree:\n  ${problems.join("\n  ")}`);
  return root;
}

/** Builds dist/ (or `outdir`) and returns esbuild's record of inputs, outputs and imports. */
export async function buildDist(outdir = join(ROOT, "dist")): Promise<Metafile> {
  const external = Object.keys(runtimeDependencies()).flatMap((name) => [name, `${name}/*`]);
  rmSync(outdir, { recursive: true, force: true });
  const result = await build({
    absWorkingDir: ROOT,
    entryPoints: { cli: "cli/src/main.ts" },
    outdir,
    bundle: true,
    splitting: true,
    format: "esm",
    platform: "node",
    target: "node20.12",
    outExtension: { ".js": ".mjs" },
    chunkNames: "chunks/[name]-[hash]",
    sourcemap: "linked",
    // Stack traces name our sources through the maps; the sources themselves are not shipped.
    sourcesContent: false,
    external,
    metafile: true,
    logLevel: "warning",
    legalComments: "none",
  });
  return result.metafile;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const meta = await buildDist();
  const bytes = Object.values(meta.outputs).reduce((n, o) => n + o.bytes, 0);
  const files = Object.keys(meta.outputs).filter((f) => f.endsWith(".mjs")).length;
  console.log(`build: dist/ written (${files} modules, ${(bytes / 1024).toFixed(0)} KiB with source maps)`);
}
