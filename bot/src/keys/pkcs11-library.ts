/**
 * A PKCS#11 module, loaded once per process and path: C_Initialize and C_Finalize are
 * process-wide, so the token signer and the checkpoint signer on one HSM (or two bots in one test
 * process) share one initialisation, finalised when the last of them closes.
 *
 * pkcs11js is an optional dependency imported here only, on the first use of the `pkcs11`
 * provider: a bot with file keys never loads native HSM code.
 *
 * Every call into a module goes through `serial`, one at a time: the binding initialises the
 * module without CKF_OS_LOCKING_OK (the application promises not to call it from two threads at
 * once), yet its asynchronous C_Sign runs on a libuv worker thread, so the token signer's C_Sign
 * and the checkpoint signer's C_SignInit would otherwise run at the same time on one module.
 *
 * Loading a module runs its code inside the bot (dlopen), with the bot's keys and PIN at hand, so
 * the module file is checked as a key file is: a regular file, owned by root or the bot's user,
 * that neither it nor its directory can be written by group or others.
 */
import { realpathSync, statSync } from "node:fs";
import { dirname } from "node:path";
import { DbwardError } from "@dbward/shared";
import type * as Pkcs11Module from "pkcs11js";

export interface Pkcs11Library {
  readonly module: typeof Pkcs11Module;
  readonly pkcs11: Pkcs11Module.PKCS11;
  /** Runs `fn` once every call into this module queued before it has finished. */
  serial<T>(fn: () => T | Promise<T>): Promise<T>;
  release(): void;
}

interface Loaded {
  readonly module: typeof Pkcs11Module;
  readonly pkcs11: Pkcs11Module.PKCS11;
  refs: number;
}

const loaded = new Map<string, Loaded>();
/**
 * The queue of each module path, kept across loads: a module released and loaded again (a bot
 * restarted in one process) is initialised only after the old load's C_Finalize has run.
 */
const queues = new Map<string, Promise<unknown>>();

function serialOn(path: string) {
  return <T>(fn: () => T | Promise<T>): Promise<T> => {
    const next = (queues.get(path) ?? Promise.resolve()).then(fn);
    queues.set(
      path,
      next.catch(() => undefined),
    );
    return next;
  };
}

export async function loadPkcs11Library(path: string, where: string): Promise<Pkcs11Library> {
  let entry = loaded.get(path);
  if (entry === undefined) {
    assertTrustedModule(path, where);
    const module = await importBinding(where);
    const pkcs11 = new module.PKCS11();
    await serialOn(path)(() => {
      try {
        pkcs11.load(path);
        pkcs11.C_Initialize();
      } catch (err) {
        if (!/CKR_CRYPTOKI_ALREADY_INITIALIZED/.test(String(err)))
          throw new DbwardError(
            "config.invalid",
            `${where}.library: cannot load ${path}: ${(err as Error).message}`,
          );
      }
    });
    entry = loaded.get(path) ?? { module, pkcs11, refs: 0 };
    loaded.set(path, entry);
  }
  const e = entry;
  e.refs += 1;
  let released = false;
  const serial = serialOn(path);
  return {
    module: e.module,
    pkcs11: e.pkcs11,
    serial,
    release: () => {
      if (released) return;
      released = true;
      e.refs -= 1;
      if (e.refs > 0) return;
      loaded.delete(path);
      void serial(() => {
        try {
          e.pkcs11.C_Finalize();
        } catch {
          // Finalising a module whose token went away: nothing more to release.
        }
      });
    },
  };
}

function assertTrustedModule(path: string, where: string): void {
  const refuse = (why: string) =>
    new DbwardError("config.invalid", `${where}.library: ${path} ${why}; the bot loads its code (dlopen)`);
  let real: string;
  try {
    real = realpathSync(path);
  } catch {
    throw refuse("does not exist (the HSM vendor's PKCS#11 module)");
  }
  const uid = process.geteuid?.() ?? 0;
  for (const [what, file] of [
    ["", real],
    ["its directory ", dirname(real)],
    // Where a symlink to the module lives: whoever may write there may point it elsewhere.
    ["the directory of the path ", dirname(path)],
  ] as const) {
    const st = statSync(file);
    if (what === "" && !st.isFile()) throw refuse("is not a regular file");
    if (st.uid !== 0 && st.uid !== uid)
      throw refuse(`${what}is owned by user ${st.uid}, not root or the bot's user`);
    // A sticky world-writable directory (/tmp) still lets others add files, so it is refused too.
    if ((st.mode & 0o022) !== 0)
      throw refuse(`${what}can be written by group or others (mode ${(st.mode & 0o777).toString(8)})`);
  }
}

async function importBinding(where: string): Promise<typeof Pkcs11Module> {
  try {
    const imported = (await import("pkcs11js")) as typeof Pkcs11Module & { default?: typeof Pkcs11Module };
    return imported.default ?? imported;
  } catch (err) {
    throw new DbwardError(
      "config.invalid",
      `${where}.provider pkcs11 needs the optional package pkcs11js (npm install pkcs11js@2.1.7, with a C++ compiler for its native part): ${(err as Error).message}`,
    );
  }
}
