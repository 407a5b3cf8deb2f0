#!/usr/bin/env node
// The dbward command: runs the build in dist/ (`npm run build` makes it; the package ships it).
// Plain JavaScript with no dependencies, so it can say what is wrong when dist/ is missing.
import { existsSync } from "node:fs";

const entry = new URL("../dist/cli.mjs", import.meta.url);
if (!existsSync(entry)) {
  process.stderr.write(
    "dbward: dist/cli.mjs is missing. In a checkout of the sources, run `npm run build` first;\n" +
      "an installed package ships it, so reinstall dbward.\n",
  );
  process.exit(1);
}
const { run } = await import(entry.href);
await run();
