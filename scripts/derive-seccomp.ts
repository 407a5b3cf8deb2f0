/**
 * Derives the seccomp profiles in deploy/seccomp/ from what the bot and the agent really call
 * (deploy/seccomp/README.md). Run after `npm run build`, on a machine with strace and the local
 * PostgreSQL (127.0.0.1:5432, trust) and MariaDB (127.0.0.1:3306, root) the tests use:
 *
 *   node --import tsx scripts/derive-seccomp.ts            # trace, write observed-*.txt and the profiles
 *   node --import tsx scripts/derive-seccomp.ts --verify   # run the same work under the written profiles
 *
 * The work: the built `dbward bot` (bin/dbward.mjs, what the image runs), once on SQLite state
 * and once on PostgreSQL state, serving the HTTP API (health, readiness, public key, API tokens,
 * request creation, approval, request and result views, agent polls, claims, results, schema
 * reports); the built `dbward agent` polling it and running a PostgreSQL read, a PostgreSQL write
 * and a MariaDB read, reporting schema context, then stopping on SIGTERM as `docker stop` does;
 * the compose files' health checks (`node -e …`); and a name lookup through the system resolver
 * (what resolving `target` or the bot's host name through Docker's DNS does). Every process runs
 * under `strace -f -c`; the union of the syscall names per component is written to
 * deploy/seccomp/observed-{bot,agent}.txt, and each profile is that set plus what Node, glibc and
 * the container runtime need on paths one run does not take (the lists below, each entry said why).
 *
 * --verify runs the same work with each process confined by its written profile, default action
 * and all (deploy/seccomp/load-profile.py loads it with libseccomp, Debian's python3-seccomp, then
 * execs node): it passes only if every step succeeds under the profile.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import mysql from "mysql2/promise";
import pg from "pg";
import { format, resolveConfig } from "prettier";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
const OUT = join(ROOT, "deploy", "seccomp");
const BIN = join(ROOT, "bin", "dbward.mjs");
const PG_URL = "postgres://postgres@127.0.0.1:5432/test";
const MARIADB_URL = "mysql://root@127.0.0.1:3306/test";
const verify = process.argv.includes("--verify");

type Component = "bot" | "agent";

/** Never allowed, whatever a trace shows: the derivation stops if one is observed. */
export const FORBIDDEN = [
  "ptrace",
  "mount",
  "umount",
  "umount2",
  "pivot_root",
  "chroot",
  "kexec_load",
  "kexec_file_load",
  "init_module",
  "finit_module",
  "delete_module",
  "bpf",
  "perf_event_open",
  "keyctl",
  "add_key",
  "request_key",
  "unshare",
  "setns",
  "personality",
  "process_vm_readv",
  "process_vm_writev",
  "userfaultfd",
  "open_by_handle_at",
  "name_to_handle_at",
  "io_uring_setup",
  "io_uring_enter",
  "io_uring_register",
  "fsopen",
  "fsconfig",
  "fsmount",
  "fspick",
  "move_mount",
  "open_tree",
  "mount_setattr",
  "swapon",
  "swapoff",
  "reboot",
  "syslog",
  "acct",
  "settimeofday",
  "clock_settime",
  "clock_adjtime",
  "adjtimex",
  "quotactl",
  "lookup_dcookie",
  "iopl",
  "ioperm",
  "vhangup",
  "kcmp",
  "pidfd_getfd",
  "mbind",
  "migrate_pages",
  "move_pages",
  "set_mempolicy",
] as const;

/**
 * clone3 passes its flags in a struct seccomp cannot read, so it cannot be limited to threads.
 * Node 20 reaches it through glibc's pthread_create; answered ENOSYS, glibc falls back to clone,
 * whose flags the profile does check (no new namespaces). Docker's default profile does the same.
 */
const CLONE3_ENOSYS = 38;
/** CLONE_NEWNS | CLONE_NEWCGROUP | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNET */
const CLONE_NAMESPACE_FLAGS = 0x7e020000;

/**
 * What Node, libuv and glibc call on paths a single run may not take: signals, exits, thread and
 * timer housekeeping, memory management under pressure, file-system calls the code has (state
 * file rotation, results spooled to disk), sockets (listening for the bot, both address families).
 */
const NODE_BASELINE = [
  // signals and exits (SIGTERM from `docker stop`, SIGINT, a crash's abort)
  "rt_sigreturn",
  "rt_sigaction",
  "rt_sigprocmask",
  "rt_sigpending",
  "rt_sigtimedwait",
  "rt_sigsuspend",
  "sigaltstack",
  "restart_syscall",
  "kill",
  "tgkill",
  "tkill",
  "exit",
  "exit_group",
  "getpid",
  "getppid",
  "gettid",
  // threads (the libuv pool, V8's platform threads, workers), timers and clocks
  "clone",
  "futex",
  "set_robust_list",
  "get_robust_list",
  "set_tid_address",
  "rseq",
  "sched_yield",
  "sched_getaffinity",
  "sched_getparam",
  "sched_getscheduler",
  "nanosleep",
  "clock_nanosleep",
  "clock_gettime",
  "clock_getres",
  "gettimeofday",
  "timerfd_create",
  "timerfd_settime",
  "timerfd_gettime",
  // memory (V8's heap, its code space and memory protection keys)
  "mmap",
  "munmap",
  "mremap",
  "mprotect",
  "madvise",
  "brk",
  "mincore",
  "membarrier",
  "pkey_alloc",
  "pkey_free",
  "pkey_mprotect",
  // the event loop
  "epoll_create",
  "epoll_create1",
  "epoll_ctl",
  "epoll_wait",
  "epoll_pwait",
  "epoll_pwait2",
  "poll",
  "ppoll",
  "select",
  "pselect6",
  "eventfd",
  "eventfd2",
  "pipe",
  "pipe2",
  // files (state, WAL, signing key, ledger, health files, results, config)
  "read",
  "write",
  "readv",
  "writev",
  "pread64",
  "pwrite64",
  "preadv",
  "pwritev",
  "lseek",
  "open",
  "openat",
  "close",
  "close_range",
  "dup",
  "dup2",
  "dup3",
  "fcntl",
  "ioctl",
  "flock",
  "fsync",
  "fdatasync",
  "ftruncate",
  "fallocate",
  "stat",
  "lstat",
  "fstat",
  "newfstatat",
  "statx",
  "statfs",
  "fstatfs",
  "access",
  "faccessat",
  "faccessat2",
  "getdents64",
  "getcwd",
  "chdir",
  "readlink",
  "readlinkat",
  "rename",
  "renameat",
  "renameat2",
  "unlink",
  "unlinkat",
  "mkdir",
  "mkdirat",
  "rmdir",
  "chmod",
  "fchmod",
  "fchmodat",
  "umask",
  "utimensat",
  "futimesat",
  "copy_file_range",
  "sendfile",
  "inotify_init1",
  "inotify_add_watch",
  "inotify_rm_watch",
  // sockets (the bot's listener; outbound TCP and TLS; the resolver over UDP; IPv4 and IPv6)
  "socket",
  "socketpair",
  "connect",
  "bind",
  "listen",
  "accept",
  "accept4",
  "getsockname",
  "getpeername",
  "getsockopt",
  "setsockopt",
  "shutdown",
  "sendto",
  "recvfrom",
  "sendmsg",
  "recvmsg",
  "sendmmsg",
  "recvmmsg",
  // identity and limits (os.userInfo, process.getuid, resource usage, os.* calls)
  "getuid",
  "geteuid",
  "getgid",
  "getegid",
  "getresuid",
  "getresgid",
  "getgroups",
  "capget",
  "prlimit64",
  "getrlimit",
  "getrusage",
  "getpriority",
  "uname",
  "sysinfo",
  "getrandom",
  "prctl",
  "arch_prctl",
  "wait4",
  "waitid",
] as const;

/**
 * What the container runtime calls after it installed the filter and before node starts: runc
 * loads the profile last when no-new-privileges is set, then signals its parent through the exec
 * FIFO and execs the entrypoint (and the health checks' `node -e` through `docker exec`).
 */
const RUNTIME = [
  "execve",
  "execveat",
  "capset",
  "setgroups",
  "setuid",
  "setgid",
  "setresuid",
  "setresgid",
  "fchdir",
  "fchown",
  "fchownat",
  "getpgrp",
  "getpgid",
  "setsid",
  "setpgid",
] as const;

/**
 * The aarch64 kernel has no legacy calls; glibc there calls the *at and other newer forms, added
 * for each legacy name observed on x86_64 so the profile holds on both architectures.
 */
const AARCH64_EQUIVALENTS: Readonly<Record<string, readonly string[]>> = {
  open: ["openat"],
  creat: ["openat"],
  stat: ["newfstatat", "statx"],
  lstat: ["newfstatat", "statx"],
  access: ["faccessat", "faccessat2"],
  readlink: ["readlinkat"],
  rename: ["renameat", "renameat2"],
  unlink: ["unlinkat"],
  rmdir: ["unlinkat"],
  mkdir: ["mkdirat"],
  chmod: ["fchmodat"],
  chown: ["fchownat"],
  lchown: ["fchownat"],
  link: ["linkat"],
  symlink: ["symlinkat"],
  pipe: ["pipe2"],
  dup2: ["dup3"],
  poll: ["ppoll"],
  select: ["pselect6"],
  epoll_wait: ["epoll_pwait"],
  epoll_create: ["epoll_create1"],
  eventfd: ["eventfd2"],
  inotify_init: ["inotify_init1"],
  getdents: ["getdents64"],
  fork: ["clone"],
  vfork: ["clone"],
  utimes: ["utimensat"],
  getrlimit: ["prlimit64"],
  getpgrp: ["getpgid"],
};

function sorted(names: Iterable<string>): string[] {
  return [...new Set(names)].sort();
}

/** Syscall names from an `strace -c` summary (the last column of each row but the total). */
export function parseStraceSummary(text: string): string[] {
  const names: string[] = [];
  for (const line of text.split("\n")) {
    const m = /^\s*\d+\.\d+\s+\d+\.\d+\s+\d+\s+\d+(?:\s+\d+)?\s+([a-z0-9_]+)\s*$/.exec(line);
    if (m?.[1] !== undefined && m[1] !== "total") names.push(m[1]);
  }
  return names;
}

export interface SeccompRule {
  names: string[];
  action: "SCMP_ACT_ALLOW" | "SCMP_ACT_ERRNO";
  errnoRet?: number;
  args?: { index: number; value: number; valueTwo: number; op: string }[];
  comment?: string;
}
export interface SeccompProfile {
  defaultAction: "SCMP_ACT_ERRNO";
  defaultErrnoRet: number;
  architectures: string[];
  syscalls: SeccompRule[];
}

/** The agent listens on nothing: a server socket is never its business. */
const NOT_FOR_THE_AGENT = ["bind", "listen", "accept", "accept4"];

/** The profile for one component: observed ∪ baseline ∪ runtime ∪ aarch64 forms, clone3 and clone apart. */
export function buildProfile(component: Component, observed: readonly string[]): SeccompProfile {
  const bad = observed.filter((n) => (FORBIDDEN as readonly string[]).includes(n));
  if (bad.length > 0) throw new Error(`forbidden syscalls observed: ${bad.join(", ")}`);
  const all = new Set<string>([...observed, ...NODE_BASELINE, ...RUNTIME]);
  for (const name of [...all]) for (const eq of AARCH64_EQUIVALENTS[name] ?? []) all.add(eq);
  all.delete("clone");
  all.delete("clone3");
  for (const name of FORBIDDEN) all.delete(name);
  if (component === "agent") {
    const listening = observed.filter((n) => NOT_FOR_THE_AGENT.includes(n));
    if (listening.length > 0) throw new Error(`the agent was seen listening: ${listening.join(", ")}`);
    for (const name of NOT_FOR_THE_AGENT) all.delete(name);
  }
  return {
    defaultAction: "SCMP_ACT_ERRNO",
    defaultErrnoRet: 1,
    architectures: ["SCMP_ARCH_X86_64", "SCMP_ARCH_AARCH64"],
    syscalls: [
      { names: sorted(all), action: "SCMP_ACT_ALLOW" },
      {
        names: ["clone"],
        action: "SCMP_ACT_ALLOW",
        args: [{ index: 0, value: CLONE_NAMESPACE_FLAGS, valueTwo: 0, op: "SCMP_CMP_MASKED_EQ" }],
        comment: "threads only: no flag that creates a namespace",
      },
      {
        names: ["clone3"],
        action: "SCMP_ACT_ERRNO",
        errnoRet: CLONE3_ENOSYS,
        comment: "ENOSYS: glibc falls back to clone, whose flags are checked",
      },
    ],
  };
}

/** Runs a command under a Docker seccomp profile with libseccomp, without Docker. */
const LOADER = join(OUT, "load-profile.py");

const work = mkdtempSync(join(tmpdir(), "dbward-seccomp-"));
const traces: Record<Component, string[]> = { bot: [], agent: [] };
let traced = 0;

interface Running {
  readonly child: ChildProcess;
  readonly exited: Promise<number | null>;
  output(): string;
  /** The pid of node itself (strace's child when traced). */
  nodePid(): number;
}

/** Starts `node args…` as `component` would run: under strace, or under its profile with --verify. */
function runNode(component: Component, args: string[], env: Record<string, string>): Running {
  const trace = join(work, `${component}-${++traced}.strace`);
  const argv = verify
    ? ["/usr/bin/python3", LOADER, join(OUT, `dbward-${component}.json`), process.execPath, ...args]
    : ["strace", "-f", "-c", "-o", trace, process.execPath, ...args];
  if (!verify) traces[component].push(trace);
  const child = spawn(argv[0] ?? "", argv.slice(1), {
    env: { PATH: process.env.PATH ?? "", NODE_ENV: "production", DBWARD_LOG_LEVEL: "warn", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  child.stdout?.on("data", (d: Buffer) => (out += d.toString()));
  child.stderr?.on("data", (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on("close", resolve));
  return {
    child,
    exited,
    output: () => out,
    nodePid: () => {
      const pid = child.pid ?? 0;
      if (verify) return pid;
      const kids = readFileSync(`/proc/${pid}/task/${pid}/children`, "utf8").trim().split(/\s+/);
      return Number(kids[0]);
    },
  };
}

async function stop(p: Running, what: string): Promise<void> {
  process.kill(p.nodePid(), "SIGTERM");
  const code = await p.exited;
  if (code !== 0) throw new Error(`${what} exited ${code} on SIGTERM: ${p.output()}`);
}

async function runToEnd(component: Component, args: string[], env: Record<string, string> = {}) {
  const p = runNode(component, args, env);
  const code = await p.exited;
  if (code !== 0) throw new Error(`${args.join(" ")} exited ${code}: ${p.output()}`);
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.listen(0, "127.0.0.1", () => {
      const a = s.address();
      s.close(() => (typeof a === "object" && a !== null ? resolve(a.port) : reject(new Error("no port"))));
    });
  });
}

const until = async <T>(what: string, probe: () => Promise<T | undefined>, ms = 30_000): Promise<T> => {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await probe().catch(() => undefined);
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out: ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
};

async function api(url: string, bearer: string, method: string, path: string, body?: unknown) {
  const res = await fetch(`${url}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${bearer}`,
      ...(body === undefined ? {} : { "content-type": "application/json" }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text}`);
  return (text === "" ? {} : JSON.parse(text)) as Record<string, unknown>;
}

/** One bot (on `state`), one agent, the three jobs, the health checks, then SIGTERM to both. */
async function scenario(state: "sqlite" | "postgres"): Promise<void> {
  const dir = join(work, state);
  mkdirSync(dir);
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const admin = `dbw_${randomBytes(32).toString("base64url")}`;
  const agentToken = `dbwa_${randomBytes(32).toString("base64url")}`;
  const metrics = randomBytes(32).toString("base64url");
  const stateDb = `dbward_seccomp_${randomBytes(4).toString("hex")}`;
  const table = `dbward_seccomp_${randomBytes(4).toString("hex")}`;
  const admin_pg = new pg.Client(PG_URL);
  await admin_pg.connect();
  if (state === "postgres") await admin_pg.query(`CREATE DATABASE ${stateDb}`);
  await admin_pg.query(`CREATE TABLE ${table} (id int PRIMARY KEY, status text NOT NULL)`);
  await admin_pg.query(`INSERT INTO ${table} VALUES (1, 'new'), (2, 'new')`);
  const maria = await mysql.createConnection(MARIADB_URL);
  await maria.query(`CREATE TABLE ${table} (id int PRIMARY KEY, status varchar(20) NOT NULL)`);
  await maria.query(`INSERT INTO ${table} VALUES (1, 'new')`);
  try {
    writeFileSync(
      join(dir, "bot.yml"),
      `
listen: { host: 127.0.0.1, port: ${port} }
${state === "postgres" ? `state: { url: "postgres://postgres@127.0.0.1:5432/${stateDb}" }` : ""}
databases:
  - { name: shop, dialect: postgres, environments: [staging] }
  - { name: legacy, dialect: mysql, environments: [production] }
workflows:
  - { name: reads, operations: [read], auto_approve: always }
  - { name: writes, operations: [write], steps: [{ approvers: ["role:approver"] }] }
users:
  - { id: alice, name: Alice, roles: [requester] }
  - { id: bob, name: Bob, roles: [approver] }
  - { id: root, name: Root, roles: [admin] }
agents: [{ id: agent-1 }]
`,
    );
    const bot = runNode(
      "bot",
      [BIN, "bot", "--config", join(dir, "bot.yml"), "--data-dir", join(dir, "bot")],
      {
        DBWARD_ADMIN_TOKEN: admin,
        DBWARD_AGENT_TOKEN_AGENT_1: agentToken,
        DBWARD_METRICS_TOKEN: metrics,
      },
    );
    await until("the bot answers /health", async () => {
      if (bot.child.exitCode !== null) throw new Error(`the bot exited: ${bot.output()}`);
      // Its own line too: a port another process took meanwhile answers /health as well.
      if (!bot.output().includes(`listening on ${url}`)) return undefined;
      return (await fetch(`${url}/health`)).ok ? true : undefined;
    }).catch((e: unknown) => {
      throw new Error(`${String(e)}: ${bot.output()}`);
    });
    await until("the bot is ready", async () => ((await fetch(`${url}/ready`)).ok ? true : undefined));
    const keys = (await (await fetch(`${url}/api/public-key`)).json()) as {
      keys: { kid: string; public_key: string }[];
    };
    const key = keys.keys[0];
    if (key === undefined) throw new Error("no public key");
    const alice = String((await api(url, admin, "POST", "/api/tokens", { user: "alice", name: "d" })).token);
    const bob = String((await api(url, admin, "POST", "/api/tokens", { user: "bob", name: "d" })).token);
    await fetch(`${url}/metrics`, { headers: { authorization: `Bearer ${metrics}` } });

    writeFileSync(
      join(dir, "agent.yml"),
      `
id: agent-1
bot_url: ${url}
keys: { ${key.kid}: ${key.public_key} }
data_dir: ${join(dir, "agent")}
poll_wait_ms: 1000
databases:
  - { name: shop, environment: staging, driver: postgres, url_env: SHOP_URL, operations: [read, write] }
  - { name: legacy, environment: production, driver: mysql, url_env: LEGACY_URL, operations: [read] }
`,
    );
    const agent = runNode("agent", [BIN, "agent", "--config", join(dir, "agent.yml")], {
      DBWARD_AGENT_TOKEN: agentToken,
      SHOP_URL: PG_URL,
      LEGACY_URL: MARIADB_URL,
    });

    const submit = async (database: string, environment: string, sql: string) => {
      const r = await api(url, alice, "POST", "/api/requests", {
        database,
        environment,
        sql,
        reason: "derive",
      });
      if (r.status === "pending_approval")
        await api(url, bob, "POST", `/api/requests/${String(r.id)}/approve`, {});
      const id = String(r.id);
      await until(`request ${id} succeeds`, async () => {
        const v = await api(url, alice, "GET", `/api/requests/${id}`);
        if (v.status === "failed" || v.status === "lost")
          throw new Error(`request ${id}: ${JSON.stringify(v)}`);
        return v.status === "succeeded" ? v : undefined;
      });
      return api(url, alice, "GET", `/api/requests/${id}/result`);
    };
    await submit("shop", "staging", `SELECT id, status FROM ${table} ORDER BY id`);
    await submit("shop", "staging", `UPDATE ${table} SET status = 'paid' WHERE id = 1`);
    await submit("legacy", "production", `SELECT id, status FROM ${table} ORDER BY id`);
    const changed = await admin_pg.query(`SELECT status FROM ${table} WHERE id = 1`);
    if (changed.rows[0]?.status !== "paid") throw new Error("the write did not run");
    await api(url, alice, "GET", "/api/requests");

    // The compose files' health checks, run in the containers by `docker exec`.
    await runToEnd("bot", [
      "-e",
      `fetch('${url}/health').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))`,
    ]);
    await until("the agent's liveness file", async () =>
      readFileSync(join(dir, "agent", "alive")).length >= 0 ? true : undefined,
    );
    await runToEnd("agent", [
      "-e",
      `process.exit(Date.now() - require('node:fs').statSync('${join(dir, "agent", "alive")}').mtimeMs < 60000 ? 0 : 1)`,
    ]);
    // The resolver: a name looked up through /etc/resolv.conf's server (Docker's embedded DNS in a container).
    for (const c of ["bot", "agent"] as const) {
      await runToEnd(c, ["-e", "require('node:dns').lookup('dbward-derive.invalid', () => process.exit(0))"]);
    }

    await stop(agent, "the agent");
    await stop(bot, "the bot");
  } finally {
    await maria.query(`DROP TABLE IF EXISTS ${table}`);
    await maria.end();
    await admin_pg.query(`DROP TABLE IF EXISTS ${table}`);
    if (state === "postgres") await admin_pg.query(`DROP DATABASE IF EXISTS ${stateDb} WITH (FORCE)`);
    await admin_pg.end();
  }
}

try {
  await scenario("sqlite");
  await scenario("postgres");
  if (verify) {
    console.log("derive-seccomp: the bot and the agent did all their work under deploy/seccomp/*.json");
  } else {
    mkdirSync(OUT, { recursive: true });
    for (const c of ["bot", "agent"] as const) {
      const observed = sorted(traces[c].flatMap((f) => parseStraceSummary(readFileSync(f, "utf8"))));
      writeFileSync(
        join(OUT, `observed-${c}.txt`),
        `# The syscalls the ${c} made (strace -f -c) while doing the work scripts/derive-seccomp.ts describes.\n` +
          `# Written by that script; test/container-profiles.test.ts checks deploy/seccomp/dbward-${c}.json allows each.\n` +
          observed.map((n) => `${n}\n`).join(""),
      );
      const profile = buildProfile(c, observed);
      const target = join(OUT, `dbward-${c}.json`);
      const options = { ...(await resolveConfig(target)), filepath: target };
      writeFileSync(target, await format(JSON.stringify(profile), options));
      console.log(
        `derive-seccomp: ${c}: ${observed.length} syscalls observed, ${profile.syscalls[0]?.names.length ?? 0} + clone allowed`,
      );
    }
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}
