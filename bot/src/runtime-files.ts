/**
 * Where dbward's runtime files are: the folder of the package named "dbward", found by walking up
 * from this module. The same lookup works from the sources (bot/src/), from the build
 * (dist/ or dist/chunks/) and from an installed package (node_modules/dbward/dist/), where a fixed
 * number of `..` would point at a different folder in each.
 */
import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { DbwardError } from "@dbward/shared/errors";

/** The files dbward reads at run time, beside its package.json. */
export const RUNTIME_FILES = ["schema.sql", "manifest.yml", "package.json"] as const;
export type RuntimeFile = (typeof RUNTIME_FILES)[number];

let root: string | undefined;

/** The dbward package's folder (looked up once). */
export function packageRoot(): string {
  root ??= findPackageRoot(fileURLToPath(import.meta.url));
  return root;
}

/** The nearest folder at or above `from`'s folder whose package.json is named "dbward". */
export function findPackageRoot(from: string): string {
  for (let dir = dirname(from); ; dir = dirname(dir)) {
    if (isDbwardPackage(join(dir, "package.json"))) return dir;
    if (dirname(dir) === dir)
      throw new DbwardError(
        "install.incomplete",
        `no dbward package.json above ${from}: the installation is incomplete; reinstall dbward`,
      );
  }
}

/** The path of one runtime file; refuses, naming the file, when the installation lacks it. */
export function runtimeFile(name: RuntimeFile): string {
  const path = join(packageRoot(), name);
  if (!existsSync(path))
    throw new DbwardError(
      "install.incomplete",
      `${path} is missing: the installation is incomplete; reinstall dbward`,
    );
  return path;
}

/** The version in dbward's package.json (what `dbward --version` prints). */
export function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(runtimeFile("package.json"), "utf8")) as { version?: unknown };
  return typeof pkg.version === "string" ? pkg.version : "unknown";
}

function isDbwardPackage(path: string): boolean {
  if (!existsSync(path)) return false;
  try {
    return (JSON.parse(readFileSync(path, "utf8")) as { name?: unknown }).name === "dbward";
  } catch {
    // A package.json that is not JSON is not ours; keep walking up.
    return false;
  }
}
