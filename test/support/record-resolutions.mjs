// `node --import test/support/record-resolutions.mjs …` appends every module URL Node resolves
// (one per line) to the file named by DBWARD_RECORD_RESOLUTIONS; without it, does nothing. Plain
// JavaScript, so it works before tsx is registered and under the build in dist/ alike. The hooks
// run on Node's loader thread; they write with appendFileSync, so no line is lost at exit.
import { register } from "node:module";

const file = process.env.DBWARD_RECORD_RESOLUTIONS;
if (file !== undefined && file !== "") {
  register(new URL("./record-resolutions-hooks.mjs", import.meta.url), { data: { file } });
}
