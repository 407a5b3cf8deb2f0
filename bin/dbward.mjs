#!/usr/bin/env node
// The dbward command. The sources are TypeScript; tsx loads them directly, so `npx dbward` works
// right after `npm ci` with no build step.
import { register } from "tsx/esm/api";

register();
const { run } = await import("../cli/src/main.ts");
await run();
