/**
 * A private SoftHSM2 token for one test file: its own token directory and SOFTHSM2_CONF, a token
 * made with Debian's `softhsm2-util --init-token`, and Ed25519 key pairs generated inside it with
 * C_GenerateKeyPair (CKM_EC_EDWARDS_KEY_PAIR_GEN) through pkcs11js, the way an operator would with
 * their HSM's tools. The keys are generated in a child process, so this test process's own PKCS#11
 * initialisation is the bot's alone, as in production.
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export const SOFTHSM_LIBRARY = "/usr/lib/softhsm/libsofthsm2.so";

/** Whether SoftHSM2 is installed; CI (DBWARD_REQUIRE_SOFTHSM=1) fails instead of skipping. */
export function softHsmMissing(): string | false {
  const missing = !existsSync(SOFTHSM_LIBRARY) || !hasUtil();
  if (!missing) return false;
  if (process.env.DBWARD_REQUIRE_SOFTHSM === "1")
    throw new Error("SoftHSM2 is required here (DBWARD_REQUIRE_SOFTHSM=1): apt-get install softhsm2");
  return "SoftHSM2 is not installed (apt-get install softhsm2)";
}

function hasUtil(): boolean {
  try {
    execFileSync("softhsm2-util", ["--version"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

export interface KeySpec {
  readonly label: string;
  /** Hex CKA_ID. */
  readonly id: string;
  /** Generate the private key readable out of the token (a key the bot must refuse). */
  readonly extractable?: boolean;
  /** Label the public key otherwise, so `label` names a private key and another pair's public key. */
  readonly publicLabel?: string;
  /** Generate the private key with CKA_SIGN false (a key the bot must refuse). */
  readonly cannotSign?: boolean;
}

export interface SoftHsmToken {
  readonly dir: string;
  /** The SOFTHSM2_CONF file naming this token directory. */
  readonly conf: string;
  readonly label: string;
  readonly pin: string;
  close(): void;
}

/** Makes a token labelled `label` with user PIN `pin` and the given keys. */
export function makeSoftHsmToken(label: string, pin: string, keys: readonly KeySpec[]): SoftHsmToken {
  const dir = mkdtempSync(join(tmpdir(), "dbward-softhsm-"));
  const tokens = join(dir, "tokens");
  mkdirSync(tokens);
  const conf = join(dir, "softhsm2.conf");
  writeFileSync(conf, `directories.tokendir = ${tokens}\nobjectstore.backend = file\nlog.level = ERROR\n`);
  addSoftHsmToken({ conf }, label, pin, keys);
  return { dir, conf, label, pin, close: () => rmSync(dir, { recursive: true, force: true }) };
}

/** One more token in the same token directory (labels need not be unique), with its keys. */
export function addSoftHsmToken(
  hsm: Pick<SoftHsmToken, "conf">,
  label: string,
  pin: string,
  keys: readonly KeySpec[],
): void {
  const env = { ...process.env, SOFTHSM2_CONF: hsm.conf };
  execFileSync(
    "softhsm2-util",
    ["--init-token", "--free", "--label", label, "--so-pin", `so-${pin}`, "--pin", pin],
    { env, stdio: "ignore" },
  );
  execFileSync(process.execPath, ["-e", GENERATE, SOFTHSM_LIBRARY, label, pin, JSON.stringify(keys)], {
    env,
    cwd: process.cwd(),
    stdio: ["ignore", "ignore", "inherit"],
  });
}

/** Runs in the child: C_GenerateKeyPair for each key, Ed25519 (OID 1.3.101.112). */
const GENERATE = `
const pkcs11js = require("pkcs11js");
const [library, label, pin, specs] = process.argv.slice(1);
const p = new pkcs11js.PKCS11();
p.load(library);
p.C_Initialize();
const slot = p.C_GetSlotList(true).find((s) => p.C_GetTokenInfo(s).label.trim() === label);
const s = p.C_OpenSession(slot, pkcs11js.CKF_RW_SESSION | pkcs11js.CKF_SERIAL_SESSION);
p.C_Login(s, pkcs11js.CKU_USER, pin);
const ed25519 = Buffer.from("06032b6570", "hex");
for (const k of JSON.parse(specs)) {
  const id = Buffer.from(k.id, "hex");
  p.C_GenerateKeyPair(s, { mechanism: 0x1055 }, [
    { type: pkcs11js.CKA_TOKEN, value: true },
    { type: pkcs11js.CKA_LABEL, value: k.publicLabel || k.label },
    { type: pkcs11js.CKA_ID, value: id },
    { type: pkcs11js.CKA_EC_PARAMS, value: ed25519 },
    { type: pkcs11js.CKA_VERIFY, value: true },
  ], [
    { type: pkcs11js.CKA_TOKEN, value: true },
    { type: pkcs11js.CKA_LABEL, value: k.label },
    { type: pkcs11js.CKA_ID, value: id },
    { type: pkcs11js.CKA_PRIVATE, value: true },
    { type: pkcs11js.CKA_SIGN, value: !k.cannotSign },
    { type: pkcs11js.CKA_SENSITIVE, value: !k.extractable },
    { type: pkcs11js.CKA_EXTRACTABLE, value: !!k.extractable },
  ]);
}
p.C_Logout(s);
p.C_CloseSession(s);
p.C_Finalize();
`;
