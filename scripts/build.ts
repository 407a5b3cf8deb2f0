/**
 * `npm run build`: compiles the dbward command into dist/ with esbuild. Our own code (the four
 * workspaces) is bundled, split at every dynamic import so a subcommand's code loads only when
 * it runs; third-party packages stay external and are loaded from node_modules as installed, so
 * native modules (better-sqlite3), WASM files (libpg-query) and CommonJS packages (Bolt) keep
 * working exactly as npm put them. Source maps go beside the output.
 *
 * A few dependencies are bundled too (BUNDLED): plain ES modules with no native code, no files
 * read at run time and no dependencies outside this list. Loading one file instead of hundreds
 * is most of what a start costs (kysely alone is ~450 modules). The list is an allowlist: any
 * other package that ends up in the bundle fails the build, since a package bundled by accident
 * may read files beside itself that the bundle does not have.
 *
 * The root package.json is what an installed package has, so it must list every external
 * runtime dependency the workspaces declare, at the same version, and the bundled ones as
 * devDependencies; the build refuses otherwise rather than shipping a package the installation
 * will not have.
 */
import { readdirSync, readFileSync, realpathSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { build, type Metafile } from "esbuild";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
export const WORKSPACES = ["shared", "bot", "agent", "cli"] as const;
/** Development-time packages a workspace may list that must never be a runtime dependency. */
const NOT_AT_RUN_TIME = new Set(["tsx", "typescript", "esbuild"]);
/** Dependencies compiled into dist/ (see above), with the packages they import themselves. */
export const BUNDLED: ReadonlyMap<string, readonly string[]> = new Map([
  ["kysely", []],
  ["zod", []],
  ["jose", []],
  ["openid-client", ["oauth4webapi", "jose"]],
  ["@noble/curves", ["@noble/hashes"]],
]);

type Manifest = {
  dependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
};
const readManifest = (dir: string): Manifest =>
  JSON.parse(readFileSync(join(ROOT, dir, "package.json"), "utf8")) as Manifest;

/** Every external runtime dependency, checked against what the workspaces declare. */
export function runtimeDependencies(): Record<string, string> {
  const manifest = readManifest(".");
  const root = manifest.dependencies ?? {};
  const problems: string[] = [];
  for (const ws of WORKSPACES) {
    for (const [name, version] of Object.entries(readManifest(ws).dependencies ?? {})) {
      if (name.startsWith("@dbward/")) continue;
      const where = BUNDLED.has(name) ? "devDependencies" : "dependencies";
      const listed = (BUNDLED.has(name) ? manifest.devDependencies : root)?.[name];
      if (NOT_AT_RUN_TIME.has(name))
        problems.push(`${ws}/package.json: ${name} is a build tool, not a dependency`);
      else if (listed === undefined)
        problems.push(`${ws}/package.json: ${name} is missing from package.json's ${where}`);
      else if (listed !== version)
        problems.push(`${ws}/package.json: ${name}@${version}, but package.json's ${where} has ${listed}`);
    }
  }
  for (const name of Object.keys(root)) {
    if (NOT_AT_RUN_TIME.has(name)) problems.push(`package.json: ${name} is a build tool, not a dependency`);
    if (BUNDLED.has(name))
      problems.push(`package.json: ${name} is bundled, so it belongs in devDependencies`);
  }
  if (problems.length > 0)
    throw new Error(`build: runtime dependencies disagree:\n  ${problems.join("\n  ")}`);
  return root;
}

/** Builds dist/ (or `outdir`) and returns esbuild's record of inputs, outputs and imports. */
export async function buildDist(outdir = join(ROOT, "dist")): Promise<Metafile> {
  // Optional dependencies (pkcs11js: native, loaded only by the `pkcs11` signer) stay external too:
  // an installation without them must still load every other chunk.
  const optional = Object.keys(readManifest(".").optionalDependencies ?? {});
  const external = [...Object.keys(runtimeDependencies()), ...optional].flatMap((name) => [
    name,
    `${name}/*`,
  ]);
  rmSync(outdir, { recursive: true, force: true });
  const result = await build({
    absWorkingDir: ROOT,
    entryPoints: { cli: "cli/src/main.ts" },
    outdir,
    bundle: true,
    splitting: true,
    format: "esm",
    platform: "node",
    target: "node20.19",
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
  const allowed = new Set([...BUNDLED].flatMap(([name, deps]) => [name, ...deps]));
  const strays = new Set(
    Object.keys(result.metafile.inputs)
      .map((path) => /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(path)?.[1])
      .filter((name): name is string => name !== undefined && !allowed.has(name)),
  );
  if (strays.size > 0)
    throw new Error(
      `build: bundled packages outside BUNDLED: ${[...strays].join(", ")}; make them external or list them`,
    );
  writeThirdPartyLicenses(join(outdir, "THIRD-PARTY-LICENSES.txt"), [...allowed]);
  return result.metafile;
}

/** The bundled packages' licenses travel with the code compiled from them (MIT and ISC ask it). */
function writeThirdPartyLicenses(file: string, names: readonly string[]): void {
  const sections = names.map((name) => {
    const dir = join(ROOT, "node_modules", name);
    const license = readdirSync(dir).find((f) => /^(licen[cs]e|copying)/i.test(f));
    if (license === undefined) throw new Error(`build: ${name} is bundled but has no license file`);
    const { version } = JSON.parse(readFileSync(join(dir, "package.json"), "utf8")) as { version: string };
    return `${name}@${version}\n\n${readFileSync(join(dir, license), "utf8").trim()}\n`;
  });
  writeFileSync(file, `Packages compiled into dbward's dist/:\n\n${sections.join("\n---\n\n")}`);
}

// Run as a script (through a symlinked path too), not when a test imports buildDist.
if (
  process.argv[1] !== undefined &&
  realpathSync(process.argv[1]) === realpathSync(fileURLToPath(import.meta.url))
) {
  const meta = await buildDist();
  const bytes = Object.values(meta.outputs).reduce((n, o) => n + o.bytes, 0);
  const files = Object.keys(meta.outputs).filter((f) => f.endsWith(".mjs")).length;
  console.log(`build: dist/ written (${files} modules, ${(bytes / 1024).toFixed(0)} KiB with source maps)`);
}
