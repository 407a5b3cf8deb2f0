/**
 * `npm run bench`: runs every test/bench/*.bench.ts in its own process, one after another, and
 * lets each print its figures. Benchmarks print; they never fail on a number.
 */
import { spawnSync } from "node:child_process";
import { readdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const only = process.argv[2];
const files = readdirSync(here)
  .filter((f) => f.endsWith(".bench.ts") && (only === undefined || f.includes(only)))
  .sort();
if (files.length === 0) {
  console.error("no benchmarks found");
  process.exit(1);
}
// Benchmarks measure what ships: the build in dist/, made fresh from the sources here.
const built = spawnSync("npm", ["run", "build", "--silent"], { stdio: "inherit" });
if (built.status !== 0) process.exit(1);
let failed = 0;
for (const f of files) {
  console.log(`\n=== ${f}`);
  const r = spawnSync(process.execPath, ["--import", "tsx", join(here, f)], {
    stdio: "inherit",
    env: { ...process.env, DBWARD_PROCESS_BIN: "build" },
  });
  if (r.status !== 0) failed += 1;
}
process.exit(failed === 0 ? 0 : 1);
