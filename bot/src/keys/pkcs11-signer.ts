/**
 * A signer whose Ed25519 key never leaves a PKCS#11 token (an HSM; SoftHSM2 in the tests), through
 * the pkcs11js binding, loaded only when a provider is `pkcs11` (it is an optional, native
 * dependency). Signatures use CKM_EDDSA (PKCS#11 3.0 §2.3.14) with no parameters: pure Ed25519,
 * byte-identical to what the file key would give, so agents and verifiers need nothing new.
 *
 * At start the key is found by label and/or id, and refused unless it is a private Ed25519 key
 * that may sign, is CKA_SENSITIVE and not CKA_EXTRACTABLE: a key that can be read out of the HSM
 * gives none of the HSM's protection. The public key comes from the matching public key object's
 * CKA_EC_POINT, and a signature made at start must verify with it, so a public key object that
 * belongs to another private key fails the start instead of every token.
 *
 * Every problem at start (no module, no token or two under the label, wrong PIN, no key) is
 * `config.invalid`: the bot does not start without its key (fail closed). At run time a signature
 * that fails or times out is `signing.unavailable`, and its session is closed so the next one
 * starts afresh; every call into the module is queued (pkcs11-library.ts).
 */
import { existsSync } from "node:fs";
import { randomBytes } from "node:crypto";
import { DbwardError, deriveKeyId, verifySignature, type Signer, type SigningPurpose } from "@dbward/shared";
import type * as Pkcs11Module from "pkcs11js";
import type { Pkcs11SignerConfig } from "../config/signing-config.ts";
import { readHsmPin } from "./hsm-pin.ts";
import { loadPkcs11Library, type Pkcs11Library } from "./pkcs11-library.ts";

/** PKCS#11 3.0 values the binding's constant table does not have yet. */
const CKK_EC_EDWARDS = 0x40;
const CKM_EDDSA = 0x1057;

/**
 * Answers after which a fresh session (and login) may succeed: the token was reset or re-plugged,
 * or a signature before this one left its operation active (a fresh session has none).
 */
const SESSION_LOST = new Set([
  "CKR_OPERATION_ACTIVE",
  "CKR_SESSION_HANDLE_INVALID",
  "CKR_SESSION_CLOSED",
  "CKR_USER_NOT_LOGGED_IN",
  "CKR_DEVICE_REMOVED",
  "CKR_TOKEN_NOT_PRESENT",
  "CKR_OBJECT_HANDLE_INVALID",
  "CKR_KEY_HANDLE_INVALID",
]);

export interface OpenedSigner<P extends SigningPurpose> {
  readonly signer: Signer<P>;
  close(): void;
}

interface Session {
  readonly handle: Buffer;
  readonly privateKey: Buffer;
}

export async function openPkcs11Signer<P extends SigningPurpose>(
  c: Pkcs11SignerConfig,
  purpose: P,
  env: Readonly<Record<string, string | undefined>>,
): Promise<OpenedSigner<P>> {
  const where = `signing.${purpose}`;
  const pin = readHsmPin(c, env, where);
  if (!existsSync(c.library))
    throw new DbwardError(
      "config.invalid",
      `${where}.library: ${c.library} does not exist (the HSM vendor's PKCS#11 module)`,
    );
  const lib = await loadPkcs11Library(c.library, where);
  let session: Session | undefined;
  /** Closes the session; the next signature opens (and logs in to) a fresh one. */
  const drop = (): void => {
    closeQuietly(lib.pkcs11, session);
    session = undefined;
  };
  try {
    const publicKey = await lib.serial(() => {
      session = openSession(lib, c, pin, where);
      return readPublicKey(lib, session.handle, c, where);
    });
    const signOnce = async (message: Uint8Array): Promise<Uint8Array> => {
      session ??= openSession(lib, c, pin, where);
      try {
        return await signWith(lib.pkcs11, session, message);
      } catch (err) {
        // Whatever failed (a device error, an operation left active), this session is not reused:
        // the HSM coming back is enough for the next signature to work.
        drop();
        throw err;
      }
    };
    const sign = async (message: Uint8Array): Promise<Uint8Array> => {
      try {
        return await signOnce(message);
      } catch (err) {
        if (!SESSION_LOST.has(codeOf(err))) throw err;
        // The token came back (an HSM restart, a failover): one fresh session, then give up.
        return signOnce(message);
      }
    };
    const signer: Signer<P> = {
      purpose,
      kid: deriveKeyId(publicKey),
      publicKey,
      // One call at a time per module (pkcs11-library.ts), so C_SignInit and C_Sign of two
      // signatures, or of the two signers on one HSM, never interleave.
      sign: (message) =>
        withTimeout(
          lib.serial(() => sign(message)),
          c.sign_timeout_ms,
        ).catch((err: unknown) => {
          // Fail closed with a code the caller can answer with (503): nothing was signed.
          throw new DbwardError(
            "signing.unavailable",
            `${where}: the HSM did not sign (${codeOf(err) || (err instanceof Error ? err.message : String(err))})`,
          );
        }),
    };
    await assertKeyPair(signer, where, c);
    return {
      signer,
      close: () => {
        void lib.serial(drop);
        lib.release();
      },
    };
  } catch (err) {
    await lib.serial(drop);
    lib.release();
    throw err;
  }
}

function openSession(lib: Pkcs11Library, c: Pkcs11SignerConfig, pin: string, where: string): Session {
  const p = lib.pkcs11;
  const m = lib.module;
  const slots = p.C_GetSlotList(true).filter((s) => p.C_GetTokenInfo(s).label.trim() === c.token_label);
  const slot = slots[0];
  if (slot === undefined)
    throw new DbwardError(
      "config.invalid",
      `${where}.token_label: no token labelled "${c.token_label}" in ${c.library}`,
    );
  // Labels are not unique: another token under the same label (a second HSM partition, a token
  // someone plugged in) must not decide which key signs by the order the module lists slots in.
  if (slots.length > 1)
    throw new DbwardError(
      "config.invalid",
      `${where}.token_label: ${slots.length} tokens are labelled "${c.token_label}" in ${c.library}; give each token its own label`,
    );
  const handle = p.C_OpenSession(slot, m.CKF_SERIAL_SESSION);
  try {
    try {
      p.C_Login(handle, m.CKU_USER, pin);
    } catch (err) {
      // Another session of this process (the other purpose on the same token) logged in already.
      if (codeOf(err) !== "CKR_USER_ALREADY_LOGGED_IN") throw loginError(err, where, c);
    }
    return { handle, privateKey: findPrivateKey(lib, handle, c, where) };
  } catch (err) {
    closeQuietly(p, { handle, privateKey: Buffer.alloc(0) });
    throw err;
  }
}

function loginError(err: unknown, where: string, c: Pkcs11SignerConfig): DbwardError {
  const code = codeOf(err);
  const hint =
    code === "CKR_PIN_INCORRECT"
      ? `the PIN in ${c.pin_env ?? c.pin_file} is wrong (a few more wrong tries may lock the token)`
      : code === "CKR_PIN_LOCKED"
        ? "the token's user PIN is locked; the security officer must reset it"
        : `the token refused the login (${code || String(err)})`;
  return new DbwardError("config.invalid", `${where}: ${hint}`);
}

function keyTemplate(m: typeof Pkcs11Module, c: Pkcs11SignerConfig, cls: number): Pkcs11Module.Template {
  return [
    { type: m.CKA_CLASS, value: cls },
    { type: m.CKA_KEY_TYPE, value: CKK_EC_EDWARDS },
    ...(c.key_label === undefined ? [] : [{ type: m.CKA_LABEL, value: c.key_label }]),
    ...(c.key_id === undefined ? [] : [{ type: m.CKA_ID, value: Buffer.from(c.key_id, "hex") }]),
  ];
}

function findOne(lib: Pkcs11Library, session: Buffer, template: Pkcs11Module.Template): Buffer[] {
  lib.pkcs11.C_FindObjectsInit(session, template);
  try {
    return lib.pkcs11.C_FindObjects(session, 2);
  } finally {
    lib.pkcs11.C_FindObjectsFinal(session);
  }
}

function describeKey(c: Pkcs11SignerConfig): string {
  return [
    c.key_label === undefined ? "" : `labelled "${c.key_label}"`,
    c.key_id === undefined ? "" : `with id ${c.key_id}`,
  ]
    .filter((s) => s !== "")
    .join(" ");
}

function findPrivateKey(lib: Pkcs11Library, session: Buffer, c: Pkcs11SignerConfig, where: string): Buffer {
  const m = lib.module;
  const found = findOne(lib, session, keyTemplate(m, c, m.CKO_PRIVATE_KEY));
  const key = found[0];
  if (key === undefined)
    throw new DbwardError(
      "config.invalid",
      `${where}: no Ed25519 private key ${describeKey(c)} on token "${c.token_label}"`,
    );
  if (found.length > 1)
    throw new DbwardError(
      "config.invalid",
      `${where}: more than one Ed25519 private key ${describeKey(c)} on token "${c.token_label}"; name it by key_id too`,
    );
  const [sensitive, extractable, canSign] = lib.pkcs11
    .C_GetAttributeValue(session, key, [
      { type: m.CKA_SENSITIVE },
      { type: m.CKA_EXTRACTABLE },
      { type: m.CKA_SIGN },
    ])
    .map((a) => Buffer.isBuffer(a.value) && a.value[0] === 1);
  if (sensitive !== true || extractable !== false)
    throw new DbwardError(
      "config.invalid",
      `${where}: the key ${describeKey(c)} can leave the HSM (it must be CKA_SENSITIVE and not CKA_EXTRACTABLE); generate a new one that cannot`,
    );
  if (canSign !== true)
    throw new DbwardError(
      "config.invalid",
      `${where}: the key ${describeKey(c)} may not sign (CKA_SIGN is false)`,
    );
  return key;
}

/** The raw public key from CKA_EC_POINT: a DER OCTET STRING (04 20 …), or the 32 bytes bare. */
function readPublicKey(
  lib: Pkcs11Library,
  session: Buffer,
  c: Pkcs11SignerConfig,
  where: string,
): Uint8Array {
  const m = lib.module;
  const found = findOne(lib, session, keyTemplate(m, c, m.CKO_PUBLIC_KEY));
  const key = found[0];
  if (key === undefined || found.length > 1)
    throw new DbwardError(
      "config.invalid",
      `${where}: ${key === undefined ? "no" : "more than one"} Ed25519 public key ${describeKey(c)} on token "${c.token_label}" (the bot reads the public key from it)`,
    );
  const [point] = lib.pkcs11.C_GetAttributeValue(session, key, [{ type: m.CKA_EC_POINT }]);
  const value = Buffer.isBuffer(point?.value) ? point.value : Buffer.alloc(0);
  const raw = value.length === 34 && value[0] === 0x04 && value[1] === 0x20 ? value.subarray(2) : value;
  if (raw.length !== 32)
    throw new DbwardError(
      "config.invalid",
      `${where}: the public key's CKA_EC_POINT is not an Ed25519 point`,
    );
  return new Uint8Array(raw);
}

function signWith(p: Pkcs11Module.PKCS11, s: Session, message: Uint8Array): Promise<Uint8Array> {
  p.C_SignInit(s.handle, { mechanism: CKM_EDDSA }, s.privateKey);
  return new Promise((resolve, reject) => {
    // The asynchronous form runs the HSM call off the event loop (a network HSM may take a while).
    p.C_Sign(s.handle, Buffer.from(message), Buffer.alloc(64), (err, signature) => {
      if (err) reject(err);
      else resolve(new Uint8Array(signature));
    });
  });
}

/**
 * Signs a message that is neither a token's signing input (it has a `:`) nor a checkpoint's
 * bytes (it does not start with `{`), and checks it with the public key read from the token.
 */
async function assertKeyPair(signer: Signer, where: string, c: Pkcs11SignerConfig): Promise<void> {
  const probe = new TextEncoder().encode(
    `dbward-signer-self-test:${signer.purpose}:${randomBytes(16).toString("hex")}`,
  );
  let signature: Uint8Array;
  try {
    signature = await signer.sign(probe);
  } catch (err) {
    throw new DbwardError(
      "config.invalid",
      `${where}: the HSM cannot sign with CKM_EDDSA: ${codeOf(err) || String(err)}`,
    );
  }
  if (!verifySignature(signer.publicKey, probe, signature))
    throw new DbwardError(
      "config.invalid",
      `${where}: the public key ${describeKey(c)} does not belong to the private key of that name`,
    );
}

/**
 * Gives up waiting after `ms`. The HSM call itself cannot be cancelled: it keeps its place at the
 * head of the module's queue until it answers, so the next calls wait (and time out) behind it
 * rather than run beside it.
 */
function withTimeout<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  return Promise.race([work, late]).finally(() => clearTimeout(timer));
}

function closeQuietly(p: Pkcs11Module.PKCS11, s: Session | undefined): void {
  if (s === undefined) return;
  try {
    p.C_CloseSession(s.handle);
  } catch {
    // Already gone with the token: nothing is left to close.
  }
}

/** The CKR_ name of a Cryptoki error ("" for anything else). */
function codeOf(err: unknown): string {
  const message = err instanceof Error ? err.message : "";
  return /CKR_[A-Z_]+/.exec(message)?.[0] ?? "";
}
