/**
 * A PostgreSQL server of a test's own: a fresh cluster in a temporary directory on a free port,
 * which the test may restart or stop (the machine's shared server on 5432 must not be). Runs the
 * server binaries as the `postgres` user when the tests run as root (initdb refuses root).
 */
import { execFileSync } from "node:child_process";
import { chownSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

const BIN_ROOT = "/usr/lib/postgresql";

function binDir(): string {
  const versions = readdirSync(BIN_ROOT).sort((a, b) => Number(b) - Number(a));
  const newest = versions[0];
  if (newest === undefined) throw new Error(`no PostgreSQL under ${BIN_ROOT}`);
  return join(BIN_ROOT, newest, "bin");
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const address = s.address();
      s.close(() => (typeof address === "object" && address !== null ? resolve(address.port) : reject()));
    });
  });
}

export interface PrivatePostgres {
  /** `postgres://postgres@127.0.0.1:<port>/postgres` */
  readonly url: string;
  readonly port: number;
  /** A fast restart: every connection is cut, the server is back when this resolves. */
  restart(): void;
  destroy(): void;
}

export async function startPrivatePostgres(): Promise<PrivatePostgres> {
  const bin = binDir();
  const dir = mkdtempSync(join(tmpdir(), "dbward-pg-"));
  const asRoot = process.getuid?.() === 0;
  const run = (tool: string, args: string[]): void => {
    const cmd = join(bin, tool);
    if (asRoot) execFileSync("runuser", ["-u", "postgres", "--", cmd, ...args], { stdio: "pipe" });
    else execFileSync(cmd, args, { stdio: "pipe" });
  };
  if (asRoot)
    chownSync(
      dir,
      Number(execFileSync("id", ["-u", "postgres"]).toString()),
      Number(execFileSync("id", ["-g", "postgres"]).toString()),
    );
  const data = join(dir, "data");
  run("initdb", ["-D", data, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync"]);
  const port = await freePort();
  const options = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off`;
  const pgCtl = (action: string): void =>
    run("pg_ctl", ["-D", data, "-o", options, "-w", "-l", join(dir, "log"), action]);
  pgCtl("start");
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    port,
    restart: () =>
      run("pg_ctl", ["-D", data, "-o", options, "-w", "-m", "fast", "-l", join(dir, "log"), "restart"]),
    destroy() {
      try {
        run("pg_ctl", ["-D", data, "-w", "-m", "immediate", "stop"]);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}
