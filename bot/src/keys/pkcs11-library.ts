/**
 * A PKCS#11 module, loaded once per process and path: C_Initialize and C_Finalize are
 * process-wide, so the token signer and the checkpoint signer on one HSM (or two bots in one test
 * process) share one initialisation, finalised when the last of them closes.
 *
 * pkcs11js is an optional dependency imported here only, on the first use of the `pkcs11`
 * provider: a bot with file keys never loads native HSM code.
 */
import { DbwardError } from "@dbward/shared";
import type * as Pkcs11Module from "pkcs11js";

export interface Pkcs11Library {
  readonly module: typeof Pkcs11Module;
  readonly pkcs11: Pkcs11Module.PKCS11;
  release(): void;
}

interface Loaded {
  readonly module: typeof Pkcs11Module;
  readonly pkcs11: Pkcs11Module.PKCS11;
  refs: number;
}

const loaded = new Map<string, Loaded>();

export async function loadPkcs11Library(path: string, where: string): Promise<Pkcs11Library> {
  let entry = loaded.get(path);
  if (entry === undefined) {
    const module = await importBinding(where);
    const pkcs11 = new module.PKCS11();
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
    entry = loaded.get(path) ?? { module, pkcs11, refs: 0 };
    loaded.set(path, entry);
  }
  const e = entry;
  e.refs += 1;
  let released = false;
  return {
    module: e.module,
    pkcs11: e.pkcs11,
    release: () => {
      if (released) return;
      released = true;
      e.refs -= 1;
      if (e.refs > 0) return;
      loaded.delete(path);
      try {
        e.pkcs11.C_Finalize();
      } catch {
        // Finalising a module whose token went away: nothing more to release.
      }
    },
  };
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
