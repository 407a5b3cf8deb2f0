#!/usr/bin/env node
// The dbward command from the sources, for tests and development: tsx compiles the TypeScript as
// it loads, so a test runs what is in the working tree without `npm run build`. Named like the
// real bin/dbward.mjs because `dbward reload` recognises the bot's process by that name. What
// ships is the build (bin/dbward.mjs → dist/); test/package.test.ts runs that.
import { register } from "tsx/esm/api";

register();
const { run } = await import("../../../cli/src/main.ts");
await run();
