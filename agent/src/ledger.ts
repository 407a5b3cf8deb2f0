/**
 * The executed-token ledger (T-REPLAY): every token id the agent has started to execute, one per
 * line, appended and fsynced before the statement runs. It is loaded at start, so a replayed
 * token is refused even after a restart, and an execution that crashed half way is never re-run
 * by the same token: the operator decides instead (SECURITY.md, crash mid-execution).
 *
 * Each line is the token id as a JSON string, so an id containing a newline or any other
 * character cannot split into two entries. One agent process owns a data directory; two
 * processes sharing one would not see each other's entries.
 */
import {
  closeSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readFileSync,
  writeFileSync,
  ftruncateSync,
} from "node:fs";
import { join } from "node:path";
import { DbwardError } from "@dbward/shared";

export const LEDGER_FILE = "executed-tokens.log";

export interface Ledger {
  /** True when the token id has been recorded, by this process or an earlier one. */
  has(jti: string): boolean;
  /** Durably records the id; throws `token.replayed` when it is already there. */
  record(jti: string): void;
  readonly size: number;
  readonly path: string;
  close(): void;
}

/** Opens (creating if needed, mode 0600 in a 0700 directory) and loads the ledger. */
export function openLedger(dataDir: string): Ledger {
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const path = join(dataDir, LEDGER_FILE);
  const fd = openSync(path, "a+", 0o600);
  let ids: Set<string>;
  try {
    ids = loadIds(fd, path);
    syncDirectory(dataDir);
  } catch (err) {
    closeSync(fd);
    throw err;
  }
  return {
    path,
    has: (jti) => ids.has(jti),
    get size() {
      return ids.size;
    },
    record(jti) {
      if (ids.has(jti)) throw new DbwardError("token.replayed", "this token has already been executed");
      // In memory first: if the write fails, this process still never runs the token.
      ids.add(jti);
      writeFileSync(fd, `${JSON.stringify(jti)}\n`);
      fsyncSync(fd);
    },
    close: () => closeSync(fd),
  };
}

function loadIds(fd: number, path: string): Set<string> {
  const bytes = readFileSync(fd);
  const end = bytes.lastIndexOf(0x0a) + 1;
  if (end < bytes.length) {
    // A torn last line is an append that never reached its fsync, so its execution never
    // started; cut it off so the next entry starts on a line of its own.
    ftruncateSync(fd, end);
  }
  const ids = new Set<string>();
  const lines = bytes.subarray(0, end).toString("utf8").split("\n").slice(0, -1);
  lines.forEach((line, i) => {
    const id = parseLine(line);
    if (id === undefined) {
      // Fail closed: a damaged ledger could hide an executed token.
      throw new DbwardError(
        "internal",
        `${path} line ${i + 1} is damaged; restore the file or inspect it before starting the agent`,
      );
    }
    ids.add(id);
  });
  return ids;
}

function parseLine(line: string): string | undefined {
  try {
    const value: unknown = JSON.parse(line);
    return typeof value === "string" && value !== "" ? value : undefined;
  } catch {
    return undefined;
  }
}

/** Makes the ledger file's directory entry durable, so a new file survives a power cut. */
function syncDirectory(dir: string): void {
  const fd = openSync(dir, "r");
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
