/**
 * A young-generation collection after each result chunk the bot has taken in or sent out.
 *
 * A chunk leaves megabytes of buffers behind (the socket's reads, the body they were copied
 * into, the file read for a download) whose JavaScript handles are small and young. V8 frees such
 * buffers when it collects their handles, and it only collects on its own once the young
 * generation fills up or outside memory has grown by 64 MB: a 1M-row result kept ~50 MB of dead
 * chunks resident in the bot at any moment (bot peak 152 MB before the download, 120 MB with a
 * scavenge per chunk; `npm run bench -- results`). A scavenge of the bot's young generation
 * takes well under a millisecond, against a chunk's ~100 ms of transfer and fsync.
 *
 * The collector is reached through a fresh V8 context with `--expose-gc` set just for it; the
 * flag is cleared again, so no other context (and no code of ours) ever sees a `gc` global.
 */
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";

type Collect = (options: { type: "minor" | "major" }) => void;

let collect: Collect | undefined;

function collector(): Collect {
  setFlagsFromString("--expose-gc");
  try {
    return runInNewContext("gc") as Collect;
  } finally {
    setFlagsFromString("--no-expose-gc");
  }
}

export function collectChunkGarbage(): void {
  collect ??= collector();
  collect({ type: "minor" });
}
