/**
 * The container confinement profiles (docs/security-hardening.md, "Container confinement"):
 * deploy/seccomp/dbward-{bot,agent}.json and deploy/apparmor/dbward-{bot,agent}.
 *
 * Seccomp: each profile is a valid Docker profile (default ERRNO/EPERM, an allowlist, x86_64 and
 * aarch64), allows no dangerous syscall (a list kept here, apart from the derivation script's),
 * names only real Linux syscalls (libseccomp's own resolver, scmp_sys_resolver), allows every
 * syscall the derivation saw the process make (deploy/seccomp/observed-*.txt), and, loaded into a
 * real process with libseccomp (deploy/seccomp/load-profile.py), lets node do its work while
 * refusing what it must (unshare; a listening socket in the agent).
 *
 * AppArmor: each profile is parsed and compiled by apparmor_parser without loading it into a
 * kernel (-Q), and holds what the compose files rely on: writes only to /data and /tmp, no
 * program but node, no mount, ptrace or capability.
 *
 * .ci/run installs the tools (seccomp, python3-seccomp, apparmor) and sets
 * DBWARD_REQUIRE_CONTAINER_TOOLS=1, so CI cannot skip these.
 */
import assert from "node:assert/strict";
import { execFile, execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { promisify } from "node:util";

const run = promisify(execFile);
const COMPONENTS = ["bot", "agent"] as const;
type Component = (typeof COMPONENTS)[number];
const required = process.env.DBWARD_REQUIRE_CONTAINER_TOOLS === "1";

function works(cmd: string, args: string[]): boolean {
  try {
    execFileSync(cmd, args, { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}
const skipUnless = (available: boolean, what: string) => (available || required ? false : what);
const hasResolver = works("scmp_sys_resolver", ["-a", "x86_64", "read"]);
const PYTHON = "/usr/bin/python3";
const hasLibseccomp = works(PYTHON, ["-c", "import seccomp"]);
const hasParser = works("apparmor_parser", ["--version"]);

/** Never allowed (SECURITY.md: the bot holds the signing key, the agent the credentials). */
const FORBIDDEN = [
  "ptrace",
  "mount",
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
  "fsmount",
  "move_mount",
  "open_tree",
  "mount_setattr",
  "swapon",
  "swapoff",
  "reboot",
  "syslog",
  "settimeofday",
  "clock_settime",
  "clock_adjtime",
  "adjtimex",
  "iopl",
  "ioperm",
  "kcmp",
  "pidfd_getfd",
];
/** CLONE_NEWNS, CLONE_NEWCGROUP, CLONE_NEWUTS, CLONE_NEWIPC, CLONE_NEWUSER, CLONE_NEWPID, CLONE_NEWNET */
const CLONE_NAMESPACE_FLAGS = [
  0x20000, 0x02000000, 0x04000000, 0x08000000, 0x10000000, 0x20000000, 0x40000000,
];
const ENOSYS = 38;
/** The forms an aarch64 kernel has for the legacy x86_64 calls the derivation may observe. */
const AARCH64_FORM: Readonly<Record<string, string>> = {
  open: "openat",
  stat: "newfstatat",
  lstat: "newfstatat",
  access: "faccessat",
  readlink: "readlinkat",
  rename: "renameat",
  unlink: "unlinkat",
  rmdir: "unlinkat",
  mkdir: "mkdirat",
  chmod: "fchmodat",
  chown: "fchownat",
  link: "linkat",
  symlink: "symlinkat",
  pipe: "pipe2",
  dup2: "dup3",
  poll: "ppoll",
  select: "pselect6",
  epoll_wait: "epoll_pwait",
  epoll_create: "epoll_create1",
  eventfd: "eventfd2",
  inotify_init: "inotify_init1",
  getdents: "getdents64",
  arch_prctl: "prctl",
  getrlimit: "prlimit64",
  getpgrp: "getpgid",
};

interface Rule {
  names: string[];
  action: string;
  errnoRet?: number;
  args?: { index: number; value: number; valueTwo: number; op: string }[];
  comment?: string;
}
interface Profile {
  defaultAction: string;
  defaultErrnoRet?: number;
  architectures: string[];
  syscalls: Rule[];
}

const profilePath = (c: Component) => `deploy/seccomp/dbward-${c}.json`;
const profile = (c: Component) => JSON.parse(readFileSync(profilePath(c), "utf8")) as Profile;
/** Names allowed with no condition. */
const allowed = (p: Profile) =>
  new Set(p.syscalls.filter((r) => r.action === "SCMP_ACT_ALLOW" && !r.args?.length).flatMap((r) => r.names));
const observed = (c: Component) =>
  readFileSync(`deploy/seccomp/observed-${c}.txt`, "utf8")
    .split("\n")
    .filter((l) => l !== "" && !l.startsWith("#"));

/** libseccomp's number for `name` on `arch`; negative when the architecture has no such call. */
async function syscallNumber(arch: "x86_64" | "aarch64", name: string): Promise<number> {
  const { stdout } = await run("scmp_sys_resolver", ["-a", arch, name]);
  return Number(stdout.trim());
}

describe("seccomp profiles", () => {
  for (const c of COMPONENTS) {
    describe(`dbward-${c}.json`, () => {
      test("is a Docker seccomp profile: default ERRNO (EPERM), an allowlist, x86_64 and aarch64", () => {
        const p = profile(c);
        assert.deepEqual(Object.keys(p).sort(), [
          "architectures",
          "defaultAction",
          "defaultErrnoRet",
          "syscalls",
        ]);
        assert.equal(p.defaultAction, "SCMP_ACT_ERRNO");
        assert.equal(p.defaultErrnoRet, 1);
        assert.deepEqual([...p.architectures].sort(), ["SCMP_ARCH_AARCH64", "SCMP_ARCH_X86_64"]);
        const seen = new Set<string>();
        for (const r of p.syscalls) {
          assert.ok(Array.isArray(r.names) && r.names.length > 0, "a rule names syscalls");
          assert.ok(["SCMP_ACT_ALLOW", "SCMP_ACT_ERRNO"].includes(r.action), r.action);
          if (r.action === "SCMP_ACT_ERRNO")
            assert.ok(Number.isInteger(r.errnoRet), "an ERRNO rule says which");
          for (const a of r.args ?? []) {
            assert.ok(Number.isInteger(a.index) && a.index >= 0 && a.index < 6);
            assert.ok(["SCMP_CMP_MASKED_EQ", "SCMP_CMP_EQ", "SCMP_CMP_NE"].includes(a.op), a.op);
          }
          for (const n of r.names) {
            assert.match(n, /^[a-z][a-z0-9_]*$/);
            assert.ok(!seen.has(n), `${n} is in one rule only`);
            seen.add(n);
          }
        }
        assert.ok(allowed(p).size > 50, "the allowlist is there");
      });

      test("allows no dangerous syscall; clone only without namespace flags, clone3 answered ENOSYS", () => {
        const p = profile(c);
        const any = new Set(p.syscalls.filter((r) => r.action === "SCMP_ACT_ALLOW").flatMap((r) => r.names));
        assert.deepEqual(
          FORBIDDEN.filter((n) => any.has(n)),
          [],
        );
        const clone = p.syscalls.filter((r) => r.names.includes("clone"));
        assert.equal(clone.length, 1);
        assert.equal(clone[0]?.action, "SCMP_ACT_ALLOW");
        const [cond, ...more] = clone[0]?.args ?? [];
        assert.equal(more.length, 0);
        assert.equal(cond?.index, 0, "the flags argument");
        assert.equal(cond.op, "SCMP_CMP_MASKED_EQ");
        assert.equal(cond.valueTwo, 0, "none of the masked flags set");
        for (const flag of CLONE_NAMESPACE_FLAGS)
          assert.ok((cond.value & flag) === flag, `mask has 0x${flag.toString(16)}`);
        assert.deepEqual(
          p.syscalls.filter((r) => r.names.includes("clone3")).map((r) => [r.action, r.errnoRet]),
          [["SCMP_ACT_ERRNO", ENOSYS]],
          "glibc falls back to clone on ENOSYS",
        );
        if (c === "agent") {
          for (const n of ["bind", "listen", "accept", "accept4"])
            assert.ok(!any.has(n), `the agent listens on nothing: ${n}`);
        }
      });

      test("allows every syscall the derivation observed (deploy/seccomp/observed-*.txt)", () => {
        const names = observed(c);
        assert.ok(names.length > 40, "the observed list is there");
        assert.ok(names.includes("execve") && names.includes("epoll_pwait"), "it is a real trace");
        const ok = allowed(profile(c));
        // clone3 is observed (glibc's pthread_create) and answered ENOSYS on purpose (see above).
        assert.deepEqual(
          names.filter((n) => !ok.has(n) && n !== "clone3"),
          [],
        );
      });

      test(
        "names only real Linux syscalls, and covers the aarch64 form of each legacy call observed",
        { skip: skipUnless(hasResolver, "scmp_sys_resolver is not installed (apt-get install seccomp)") },
        async () => {
          const p = profile(c);
          const names = [...new Set(p.syscalls.flatMap((r) => r.names))];
          const numbers = await Promise.all(
            names.map(
              async (n) => [n, await syscallNumber("x86_64", n), await syscallNumber("aarch64", n)] as const,
            ),
          );
          assert.deepEqual(
            numbers.filter(([, x86, arm]) => x86 < 0 && arm < 0).map(([n]) => n),
            [],
            "unknown to libseccomp on both architectures",
          );
          const ok = allowed(p);
          for (const name of observed(c)) {
            if ((await syscallNumber("aarch64", name)) >= 0) continue;
            const form = AARCH64_FORM[name];
            assert.ok(form !== undefined, `${name} has no aarch64 form listed here`);
            assert.ok(ok.has(form), `${name}: its aarch64 form ${form} is allowed`);
          }
        },
      );
    });
  }

  describe(
    "enforced by libseccomp on this kernel (deploy/seccomp/load-profile.py)",
    { skip: skipUnless(hasLibseccomp, `${PYTHON} has no seccomp module (apt-get install python3-seccomp)`) },
    () => {
      const dir = mkdtempSync(join(tmpdir(), "dbward-seccomp-"));
      after(() => rmSync(dir, { recursive: true, force: true }));
      const confined = (c: Component, cmd: string, ...args: string[]) =>
        run(PYTHON, ["deploy/seccomp/load-profile.py", profilePath(c), cmd, ...args], { timeout: 20_000 });

      /** What both processes do: threads, files written, renamed and synced, an outbound TCP connection. */
      const work = (port: number, file: string) => `
        const fs = require("node:fs");
        const { Worker } = require("node:worker_threads");
        const net = require("node:net");
        new Worker("require('node:crypto').randomBytes(16)", { eval: true }).on("exit", () => {
          fs.writeFileSync(${JSON.stringify(`${file}.tmp`)}, "x", { mode: 0o600 });
          const fd = fs.openSync(${JSON.stringify(`${file}.tmp`)}, "r+"); fs.fsyncSync(fd); fs.closeSync(fd);
          fs.renameSync(${JSON.stringify(`${file}.tmp`)}, ${JSON.stringify(file)});
          const s = net.connect(${port}, "127.0.0.1", () => { s.end("hello"); });
          s.on("close", () => process.exit(fs.readFileSync(${JSON.stringify(file)}, "utf8") === "x" ? 0 : 3));
        });`;

      for (const c of COMPONENTS) {
        test(`dbward-${c}: node starts threads, writes files and connects out under the profile`, async () => {
          const server = createServer((s) => s.resume());
          await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
          const port = (server.address() as { port: number }).port;
          try {
            await confined(c, process.execPath, "-e", work(port, join(dir, `${c}-state`)));
          } finally {
            server.close();
          }
          assert.ok(existsSync(join(dir, `${c}-state`)));
        });

        test(`dbward-${c}: a new namespace (unshare) is refused with EPERM`, async () => {
          await assert.rejects(confined(c, "unshare", "-U", "true"), /Operation not permitted/);
        });
      }

      test("dbward-bot listens; dbward-agent cannot open a listening socket", async () => {
        const listen =
          "require('node:net').createServer().listen(0, '127.0.0.1', () => process.exit(0)).on('error', (e) => { console.error(e.code); process.exit(4); })";
        await confined("bot", process.execPath, "-e", listen);
        await assert.rejects(confined("agent", process.execPath, "-e", listen), /EPERM|EACCES/);
      });
    },
  );
});

describe("AppArmor profiles", () => {
  const dockerfile = readFileSync("Dockerfile", "utf8");
  for (const c of COMPONENTS) {
    const name = `dbward-${c}`;
    const file = `deploy/apparmor/${name}`;
    const text = () => readFileSync(file, "utf8");
    /** The profile's own rules (comments and includes left out), one per line. */
    const rules = () =>
      text()
        .split("\n")
        .map((l) => l.trim())
        .filter((l) => l !== "" && !l.startsWith("#"));

    describe(name, () => {
      test("declares the profile compose names, attachable to a container's disconnected paths", () => {
        assert.match(
          text(),
          new RegExp(`^profile ${name} flags=\\(attach_disconnected,mediate_deleted\\) \\{$`, "m"),
        );
        assert.match(text(), /^abi <abi\/3\.0>,$/m);
      });

      test("TCP over IPv4 and IPv6 and unix sockets; no raw or packet sockets", () => {
        const r = rules();
        for (const net of ["network inet stream,", "network inet6 stream,", "network unix stream,"])
          assert.ok(r.includes(net), net);
        assert.ok(r.includes("deny network raw,") && r.includes("deny network packet,"));
      });

      test("writes only under /data and /tmp (and its threads' names); reads /app, /etc/dbward, /etc/ssl", () => {
        const fileRule = /^(?:owner\s+)?((?:\/|@\{PROC\})\S*)\s+([rwaklmixuUpPcC]+),$/;
        const r = rules();
        const writable = r
          .filter((l) => !l.startsWith("deny"))
          .flatMap((l) => {
            const m = fileRule.exec(l);
            return m?.[1] !== undefined && /[wa]/.test(m[2] ?? "") ? [m[1]] : [];
          });
        assert.deepEqual(writable.sort(), [
          "/data/",
          "/data/**",
          "/tmp/",
          "/tmp/**",
          "@{PROC}/@{pid}/task/@{tid}/comm",
        ]);
        for (const read of ["/app/** r,", "/etc/dbward/** r,", "/etc/ssl/** r,"])
          assert.ok(r.includes(read), read);
        for (const deny of [
          "deny /app/** wl,",
          "deny /etc/** wl,",
          "deny /sys/** w,",
          "deny @{PROC}/sys/** w,",
        ])
          assert.ok(r.includes(deny), deny);
        assert.match(dockerfile, /^WORKDIR \/app$/m, "the image installs into /app, as the profile assumes");
      });

      test("runs no program but node; no mount, ptrace or capability", () => {
        const r = rules();
        const executable = r.filter(
          (l) => !l.startsWith("deny") && /\s[a-z]*x[a-z]*,$/.test(l) && !/^(network|signal)/.test(l),
        );
        assert.deepEqual(executable, ["/usr/local/bin/node mrix,"]);
        for (const deny of [
          "deny mount,",
          "deny umount,",
          "deny pivot_root,",
          "deny ptrace,",
          "deny capability,",
        ])
          assert.ok(r.includes(deny), deny);
        assert.ok(
          !r.some((l) => /^(capability|ptrace|mount|change_profile)\b/.test(l)),
          "nothing of those allowed",
        );
      });

      test(
        "apparmor_parser parses and compiles it (-Q: without loading it into a kernel)",
        { skip: skipUnless(hasParser, "apparmor_parser is not installed (apt-get install apparmor)") },
        async () => {
          const { stdout } = await run("apparmor_parser", ["-Q", "-K", "-S", file], { encoding: "buffer" });
          assert.ok(stdout.length > 1000, "a compiled policy came out");
        },
      );
    });
  }

  test(
    "apparmor_parser refuses a broken profile (so its acceptance above means something)",
    { skip: skipUnless(hasParser, "apparmor_parser is not installed (apt-get install apparmor)") },
    async () => {
      const dir = mkdtempSync(join(tmpdir(), "dbward-apparmor-"));
      try {
        const broken = join(dir, "broken");
        writeFileSync(
          broken,
          readFileSync("deploy/apparmor/dbward-bot", "utf8").replace("/data/** rwkl,", "/data/** rwkl"),
        );
        await assert.rejects(run("apparmor_parser", ["-Q", "-K", broken]), /AppArmor parser error/);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  );
});
