/**
 * A hostile review of the signing design (docs/security-hardening.md, "HSM-backed signing"):
 * purpose confusion between the token key and the checkpoint key (reshaped signatures, a pinned
 * checkpoint key, a key file copied under another key id), the derived checkpoint key and the
 * untilSeq bound of a legacy key online and offline, and the PKCS#11 signer against a real
 * SoftHSM2 token: look-alike tokens and keys, a key that may not sign, a module file others can
 * write or that is no PKCS#11 module, the PIN in messages, many signatures at once across both
 * signers, a token reset, an HSM that stops signing or answers garbage — and the real bot, whose
 * claim fails closed (503, nothing recorded) while its HSM does not sign and works again after.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import {
  chmodSync,
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import {
  DbwardError,
  base64url,
  checkpointSigningBytes,
  fromBase64url,
  generateSigningKey,
  memorySigner,
  sha256Hex,
  signCheckpoint,
  signExecutionToken,
  signExecutionTokenWith,
  signingKeyFromSecret,
  sign,
  verifyCheckpointSignature,
  verifyExecutionToken,
  verifySignature,
  type ClaimResponse,
  type PublicKeysView,
  type RequestView,
  type SigningKey,
  type TokenInput,
  type VerifyContext,
} from "@dbward/shared";
import { pino } from "pino";
import { startBot, type RunningBot } from "@dbward/bot";
import { appendAudit } from "../bot/src/audit/audit-log.ts";
import { storedPublicKeys, takeCheckpoint } from "../bot/src/audit/audit-checkpoints.ts";
import { parseBotConfig } from "../bot/src/config/bot-config.ts";
import { deriveCheckpointKey } from "../bot/src/keys/derived-checkpoint-key.ts";
import { openSigners } from "../bot/src/keys/open-signers.ts";
import { loadPkcs11Library } from "../bot/src/keys/pkcs11-library.ts";
import { checkpointKeyRows, recordSigningKeys } from "../bot/src/keys/signing-key-history.ts";
import { inTransaction } from "../bot/src/store/in-transaction.ts";
import { openStore, type Store } from "../bot/src/store/open-store.ts";
import { readTrustedKeys } from "../cli/src/commands/audit-verify-signed.ts";
import { checkAgent } from "../cli/src/doctor/agent-doctor.ts";
import { PG_URL } from "./support/agent-harness.ts";
import { dropStateDatabase, ensureStateDatabase } from "./support/postgres-state.ts";
import { token } from "./support/processes.ts";
import { startBotHarness, TEST_CONFIG, type BotHarness } from "./support/bot-harness.ts";
import {
  SOFTHSM_LIBRARY,
  addSoftHsmToken,
  makeSoftHsmToken,
  softHsmMissing,
  type SoftHsmToken,
} from "./support/softhsm.ts";

const NOW = new Date(Date.UTC(2026, 11, 3, 12, 0, 0));
const INPUT: TokenInput = {
  jti: "t1",
  req: 1,
  exe: 1,
  purpose: "execute",
  max_rows: null,
  db: "shop",
  env: "production",
  op: "read",
  sql_sha256: sha256Hex("SELECT 1"),
  agent: "agent-1",
  iat: Math.floor(NOW.getTime() / 1000),
  exp: Math.floor(NOW.getTime() / 1000) + 60,
};

/** An agent's view pinning exactly `keys`. */
function agentPinning(...keys: { readonly kid: string; readonly publicKey: Uint8Array }[]): VerifyContext {
  return {
    keys: new Map(keys.map((k) => [k.kid, { kid: k.kid, publicKey: k.publicKey }])),
    now: INPUT.iat,
    sql: "SELECT 1",
    agentId: "agent-1",
    allows: () => true,
    purpose: "execute",
  };
}

const refusedWith =
  (pattern: RegExp, code = "config.invalid") =>
  (err: unknown) =>
    err instanceof DbwardError && err.code === code && pattern.test(err.message);

/** One audit event, as any change appends. */
const event = (store: Store, minute: number) =>
  inTransaction(store, (tx) =>
    appendAudit(
      tx,
      { actor: "system", action: "config.reloaded", target: "", outcome: "success", details: {} },
      new Date(NOW.getTime() + minute * 60_000),
    ),
  );

const dirs: string[] = [];
const fresh = (prefix: string): string => {
  const d = mkdtempSync(join(tmpdir(), prefix));
  dirs.push(d);
  return d;
};
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe("purpose confusion", () => {
  const tokenKey = generateSigningKey();
  const checkpointKey = generateSigningKey();

  test("a checkpoint signature reshaped into a token is refused even by an agent that pinned the checkpoint key", () => {
    const cp = signCheckpoint(checkpointKey, { seq: 3, hash: "ab".repeat(32) }, NOW);
    const bytes = new TextDecoder().decode(checkpointSigningBytes(cp));
    // The checkpoint's one "." (in its time) splits its signed bytes into a token's two parts.
    assert.equal(bytes.split(".").length, 2);
    const forged = `${bytes}.${cp.sig}`;
    const verdict = verifyExecutionToken(forged, agentPinning(tokenKey, checkpointKey));
    assert.deepEqual(verdict.ok ? "" : verdict.code, "token.malformed");
  });

  test("a token's signature is no checkpoint's, by the token key or the checkpoint key", () => {
    for (const key of [tokenKey, checkpointKey]) {
      const tok = signExecutionToken(key, INPUT);
      const cp = signCheckpoint(key, { seq: 3, hash: "ab".repeat(32) }, NOW);
      const replayed = { ...cp, sig: tok.split(".")[2] as string };
      const trusted = { byKid: new Map([[key.kid, key]]), anyKid: [key.publicKey] };
      assert.equal(verifyCheckpointSignature(replayed, trusted).ok, false);
    }
  });

  test("a token whose header names the checkpoint key id is refused by an agent pinning the token key", () => {
    const named = { ...checkpointKey, publicKey: tokenKey.publicKey, secretKey: tokenKey.secretKey };
    const tok = signExecutionToken(named, INPUT);
    const verdict = verifyExecutionToken(tok, agentPinning(tokenKey));
    assert.equal(verdict.ok ? "" : verdict.code, "token.unknown_key");
  });

  test("a header with crit, another alg or typ, a jwk, a kid that is not a string is refused; a duplicated kid is read as JSON.parse reads it", () => {
    // Signed by the pinned key, so the header alone is what is judged.
    const payload = signExecutionToken(tokenKey, INPUT).split(".")[1] as string;
    const signed = (header: string): string => {
      const input = `${base64url(new TextEncoder().encode(header))}.${payload}`;
      return `${input}.${base64url(sign(tokenKey, new TextEncoder().encode(input)))}`;
    };
    const kid = JSON.stringify(tokenKey.kid);
    const cases: [string, string][] = [
      [`{"alg":"EdDSA","crit":["exp"],"kid":${kid},"typ":"dbward-exec+jwt"}`, "token.bad_header"],
      [`{"alg":"none","kid":${kid},"typ":"dbward-exec+jwt"}`, "token.bad_header"],
      [`{"alg":"EdDSA","kid":${kid},"typ":"JWT"}`, "token.bad_header"],
      [`{"alg":"EdDSA","jwk":{},"kid":${kid},"typ":"dbward-exec+jwt"}`, "token.bad_header"],
      [`{"alg":"EdDSA","kid":[${kid}],"typ":"dbward-exec+jwt"}`, "token.unknown_key"],
      // The last kid wins, and it must still be a pinned key whose signature holds and equal the
      // claims' kid: the bot never signs such a header, only the key's holder could.
      [`{"alg":"EdDSA","kid":"other","kid":${kid},"typ":"dbward-exec+jwt"}`, "ok"],
      [`{"alg":"EdDSA","kid":${kid},"kid":"other","typ":"dbward-exec+jwt"}`, "token.unknown_key"],
    ];
    for (const [header, code] of cases) {
      const verdict = verifyExecutionToken(signed(header), agentPinning(tokenKey));
      assert.equal(verdict.ok ? "ok" : verdict.code, code, header);
    }
  });
});

describe("an agent pinning the checkpoint key", () => {
  let h: BotHarness;
  before(async () => {
    h = await startBotHarness();
  });
  after(async () => h.stop());

  test("dbward doctor fails the pin, under its own kid or renamed, and names no key to paste", async () => {
    const keys = (await h.call(h.adminToken, "GET", "/api/public-key")).body as PublicKeysView;
    const cp = keys.checkpoint_keys.find((k) => k.current);
    assert.ok(cp !== undefined);
    for (const kid of [cp.kid, "renamed"]) {
      const dir = fresh("dbward-attack-");
      const file = join(dir, "agent.yaml");
      writeFileSync(
        file,
        [
          "id: agent-1",
          `bot_url: ${h.url}`,
          "keys:",
          `  ${h.bot.signingKey.kid}: ${base64url(h.bot.signingKey.publicKey)}`,
          `  ${kid}: ${cp.public_key}`,
          `data_dir: ${join(dir, "agent-data")}`,
          "databases:",
          "  - { name: shop, environment: staging, driver: postgres, url_env: PG_URL, operations: [read] }",
        ].join("\n"),
      );
      const checks = await checkAgent(file, { DBWARD_AGENT_TOKEN: "x", PG_URL });
      const pins = checks.filter((c) => c.what === "pinned keys");
      assert.deepEqual(
        pins.map((c) => [c.status, c.detail]),
        [
          ["ok", `the bot's key ${h.bot.signingKey.kid} matches the pinned key`],
          [
            "fail",
            `the key pinned as ${kid} is the bot's audit checkpoint key, which signs no execution token`,
          ],
        ],
      );
    }
  });
});

describe("one key for both purposes under two key ids", () => {
  test("a copy of signing-key.json as checkpoint-signing-key.json under another kid: the bot does not start", async () => {
    const dataDir = join(fresh("dbward-attack-"), "bot");
    const signing = parseBotConfig(`${TEST_CONFIG}\nsigning: { checkpoints: { provider: file } }\n`).signing;
    const first = await openSigners(signing, { dataDir, env: {}, now: NOW });
    first.close();
    const tokenFile = JSON.parse(readFileSync(join(dataDir, "signing-key.json"), "utf8")) as object;
    writeFileSync(
      join(dataDir, "checkpoint-signing-key.json"),
      JSON.stringify({ ...tokenFile, kid: "renamed" }),
      { mode: 0o600 },
    );
    await assert.rejects(
      openSigners(signing, { dataDir, env: {}, now: NOW }),
      refusedWith(/tokens \(key \w+\) and checkpoints \(key renamed\) are signed by the same key/),
    );
  });

  test("a former token key brought back as the checkpoint key under a new kid, and the reverse: refused, nothing recorded", async () => {
    const store = openStore(fresh("dbward-attack-"));
    try {
      const a = generateSigningKey();
      const ca = generateSigningKey();
      const starting = (t: SigningKey, c: SigningKey) => ({
        tokens: { signer: memorySigner(t, "tokens"), created: false, copyHint: "-" },
        checkpoints: { signer: memorySigner(c, "checkpoints"), created: false, copyHint: "-" },
      });
      await recordSigningKeys(store, starting(a, ca), NOW);
      const b = generateSigningKey();
      await assert.rejects(
        recordSigningKeys(store, starting(b, { ...a, kid: "fresh-name" }), NOW),
        refusedWith(/key fresh-name already signed execution tokens for this bot \(as key \w+\)/),
      );
      await assert.rejects(
        recordSigningKeys(store, starting({ ...ca, kid: "other-name" }, b), NOW),
        refusedWith(/key other-name already signed audit checkpoints/),
      );
      assert.deepEqual(
        (await checkpointKeyRows(store)).map((k) => k.kid),
        [ca.kid],
        "no key of those starts was recorded",
      );
    } finally {
      await store.destroy();
    }
  });
});

describe("the derived checkpoint key and the legacy key's bound", () => {
  const stores: Store[] = [];
  after(async () => {
    for (const s of stores) await s.destroy();
  });

  test("derived: another key than the token key; a leaked token key file forges checkpoints (its documented custody) until checkpoints get a key of their own, then none newer, and an instance still on it stops signing", async () => {
    const tokenKey = generateSigningKey();
    const derived = deriveCheckpointKey(tokenKey);
    assert.notEqual(base64url(derived.publicKey), base64url(tokenKey.publicKey));
    assert.notEqual(base64url(derived.secretKey), base64url(tokenKey.secretKey));
    const store = openStore(fresh("dbward-attack-"));
    stores.push(store);
    const start = (c: SigningKey) =>
      recordSigningKeys(
        store,
        {
          tokens: { signer: memorySigner(tokenKey, "tokens"), created: false, copyHint: "-" },
          checkpoints: { signer: memorySigner(c, "checkpoints"), created: false, copyHint: "-" },
        },
        NOW,
      );
    await start(derived);
    await event(store, 1);
    // Whoever has signing-key.json computes the derived key: the same custody, as documented.
    const forged = await takeCheckpoint(
      store,
      memorySigner(deriveCheckpointKey(tokenKey), "checkpoints"),
      NOW,
    );
    assert.ok(forged !== undefined);
    assert.deepEqual(verifyCheckpointSignature(forged, await storedPublicKeys(store)), { ok: true });
    // A checkpoint key of its own (file or HSM): the token key's derivation vouches for nothing new.
    const own = generateSigningKey();
    await start(own);
    await event(store, 2);
    const later = await takeCheckpoint(store, memorySigner(own, "checkpoints"), NOW);
    assert.ok(later !== undefined);
    const trusted = await storedPublicKeys(store);
    assert.deepEqual(verifyCheckpointSignature(later, trusted), { ok: true });
    // The derived key still exists wherever signing-key.json does: retired, it vouches for its own
    // checkpoints only, not for a newer head…
    assert.deepEqual(verifyCheckpointSignature(forged, trusted), { ok: true });
    const derivedAgain = signCheckpoint(
      deriveCheckpointKey(tokenKey),
      { seq: later.seq, hash: later.hash },
      NOW,
    );
    const refused = verifyCheckpointSignature(derivedAgain, trusted);
    assert.match(
      refused.ok ? "" : refused.message,
      new RegExp(`only up to sequence ${forged.seq}, not ${later.seq}`),
    );
    // …and an instance on the same state still holding it (a second bot, the old one of a rolling
    // rotation) signs no checkpoint with it.
    await event(store, 3);
    await assert.rejects(
      takeCheckpoint(store, memorySigner(derived, "checkpoints"), NOW),
      refusedWith(
        new RegExp(`checkpoint key ${derived.kid} was retired at sequence ${forged.seq}`),
        "signing.unavailable",
      ),
    );
    const resumed = await takeCheckpoint(store, memorySigner(own, "checkpoints"), NOW);
    assert.ok(resumed !== undefined, "the refusal left the counter for the current key");
  });

  test("the legacy key that signed tokens and checkpoints cannot vouch for a newer head: online, offline with the saved public-key answer; a bare --public-key is the auditor's own unbounded trust", async () => {
    const store = openStore(fresh("dbward-attack-"));
    stores.push(store);
    const legacy = generateSigningKey();
    await store
      .insertInto("signing_keys")
      .values({
        kid: legacy.kid,
        public_key: base64url(legacy.publicKey),
        first_used_at: NOW.toISOString(),
        last_started_at: NOW.toISOString(),
        checkpoints_until_seq: null,
      })
      .execute();
    await event(store, 1);
    const old = await takeCheckpoint(store, memorySigner(legacy, "checkpoints"), NOW);
    assert.ok(old !== undefined);
    const cpKey = deriveCheckpointKey(legacy);
    await recordSigningKeys(
      store,
      {
        tokens: { signer: memorySigner(legacy, "tokens"), created: false, copyHint: "-" },
        checkpoints: { signer: memorySigner(cpKey, "checkpoints"), created: false, copyHint: "-" },
      },
      NOW,
    );
    await event(store, 2);
    await event(store, 3);
    const forged = await takeCheckpoint(store, memorySigner(legacy, "checkpoints"), NOW);
    assert.ok(forged !== undefined && forged.seq > old.seq);

    const online = await storedPublicKeys(store);
    assert.deepEqual(verifyCheckpointSignature(old, online), { ok: true });
    assert.equal(verifyCheckpointSignature(forged, online).ok, false, "online");

    const view: PublicKeysView = {
      keys: [{ kid: legacy.kid, alg: "EdDSA", public_key: base64url(legacy.publicKey) }],
      retired: [],
      checkpoint_keys: (await checkpointKeyRows(store)).map((k) => ({
        ...k,
        alg: "EdDSA",
        current: k.kid === cpKey.kid,
      })),
    };
    const saved = join(fresh("dbward-attack-"), "public-key.json");
    writeFileSync(saved, JSON.stringify(view));
    const offline = readTrustedKeys([saved]);
    assert.deepEqual(verifyCheckpointSignature(old, offline), { ok: true });
    const refused = verifyCheckpointSignature(forged, offline);
    assert.equal(refused.ok ? "" : refused.reason, "unknown_key", "offline with the saved answer");
    assert.equal(offline.byKid.has(legacy.kid) && offline.byKid.get(legacy.kid)?.untilSeq, old.seq);

    // `--public-key KID:KEY` or a bare key says "trust this key": it carries no bound.
    const bare = readTrustedKeys([`${legacy.kid}:${base64url(legacy.publicKey)}`]);
    assert.equal(verifyCheckpointSignature(forged, bare).ok, true);
  });
});

describe("two bots on one PostgreSQL state with different checkpoint keys", () => {
  const key = `signer-attack-${process.pid}`;
  const bots: RunningBot[] = [];
  after(async () => {
    for (const b of bots) await b.close();
    await dropStateDatabase(key);
  });

  test("the later start retires the other's key: that bot signs no checkpoint, the other's verify, and so do the retired key's", async () => {
    const url = await ensureStateDatabase(key);
    const start = async (dataDir: string, signing: string): Promise<RunningBot> => {
      const config = parseBotConfig(`${TEST_CONFIG}\n${signing}\n`);
      const bot = await startBot({
        config: { ...config, state: { url, pool_size: 2 } },
        dataDir,
        env: {
          DBWARD_ADMIN_TOKEN: token("dbw_"),
          DBWARD_AGENT_TOKEN_AGENT_1: token("dbwa_"),
          DBWARD_AGENT_TOKEN_AGENT_2: token("dbwa_"),
        },
        logger: pino({ level: "silent" }),
        listen: { host: "127.0.0.1", port: 0 },
      });
      bots.push(bot);
      return bot;
    };
    const dirA = join(fresh("dbward-attack-"), "a");
    const a = await start(dirA, "");
    const dirB = join(fresh("dbward-attack-"), "b");
    mkdirSync(dirB, { mode: 0o700 });
    // B shares the token key file, as it must, but was given a checkpoint key file of its own.
    copyFileSync(join(dirA, "signing-key.json"), join(dirB, "signing-key.json"));
    writeFileSync(
      join(dirB, "checkpoint-signing-key.json"),
      JSON.stringify({
        kid: "b-checkpoints",
        alg: "EdDSA",
        secret_key: base64url(generateSigningKey().secretKey),
      }),
      { mode: 0o600 },
    );
    await event(a.store, 1);
    const byA = await takeCheckpoint(a.store, a.checkpointSigner, NOW);
    assert.ok(byA !== undefined);
    const b = await start(dirB, "signing: { checkpoints: { provider: file } }");
    assert.notEqual(b.checkpointSigner.kid, a.checkpointSigner.kid);
    await event(b.store, 2);
    await assert.rejects(
      takeCheckpoint(a.store, a.checkpointSigner, NOW),
      refusedWith(
        new RegExp(`checkpoint key ${a.checkpointSigner.kid} was retired at sequence ${byA.seq}`),
        "signing.unavailable",
      ),
    );
    const byB = await takeCheckpoint(b.store, b.checkpointSigner, NOW);
    assert.ok(byB !== undefined);
    const trusted = await storedPublicKeys(a.store);
    assert.deepEqual(verifyCheckpointSignature(byA, trusted), { ok: true });
    assert.deepEqual(verifyCheckpointSignature(byB, trusted), { ok: true });
    const late = signCheckpoint(
      deriveCheckpointKey(signingKeyOf(dirA)),
      { seq: byB.seq, hash: byB.hash },
      NOW,
    );
    assert.equal(verifyCheckpointSignature(late, trusted).ok, false, "A's key cannot vouch for B's head");
  });
});

function signingKeyOf(dataDir: string): SigningKey {
  const file = JSON.parse(readFileSync(join(dataDir, "signing-key.json"), "utf8")) as { secret_key: string };
  return signingKeyFromSecret(fromBase64url(file.secret_key) as Uint8Array);
}

const skip = softHsmMissing();
const PIN = "pin-7f3a9c-secret";
const LABEL = "dbward-attack";
const hsmSigning = (tokens: string, checkpoints: string, extra = ""): string => {
  const at = `provider: pkcs11, library: ${SOFTHSM_LIBRARY}, pin_env: DBWARD_HSM_PIN`;
  return [
    "signing:",
    `  tokens: { ${at}, ${tokens}${extra} }`,
    `  checkpoints: { ${at}, ${checkpoints} }`,
  ].join("\n");
};
const TOKENS = `token_label: ${LABEL}, key_label: tokens`;
const CHECKPOINTS = `token_label: ${LABEL}, key_label: checkpoints`;

describe("PKCS#11 with SoftHSM2 under attack", { skip }, () => {
  let hsm: SoftHsmToken;
  const env = { DBWARD_HSM_PIN: PIN };
  before(() => {
    hsm = makeSoftHsmToken(LABEL, PIN, [
      { label: "tokens", id: "01" },
      { label: "checkpoints", id: "02" },
      { label: "no-sign", id: "03", cannotSign: true },
      { label: "twin", id: "04" },
      { label: "twin", id: "05" },
    ]);
    // The right key label on another token; and two tokens under one label.
    addSoftHsmToken(hsm, "other-token", PIN, [{ label: "elsewhere", id: "06" }]);
    addSoftHsmToken(hsm, "same-label", PIN, []);
    addSoftHsmToken(hsm, "same-label", PIN, []);
    // Read by libsofthsm2 when it is first initialised in this process.
    process.env.SOFTHSM2_CONF = hsm.conf;
  });
  after(() => hsm.close());

  const open = (signing: string, e: Record<string, string> = env) =>
    openSigners(parseBotConfig(`${TEST_CONFIG}\n${signing}\n`).signing, {
      dataDir: join(fresh("dbward-attack-"), "bot"),
      env: e,
      now: NOW,
    });

  describe("keys and tokens that only look right: the bot does not start, and no message shows the PIN", () => {
    const messages: string[] = [];
    const refused = (pattern: RegExp) => (err: unknown) => {
      if (err instanceof Error) messages.push(err.message);
      return refusedWith(pattern)(err);
    };

    test("the right key label on another token", async () => {
      await assert.rejects(
        open(hsmSigning(`token_label: ${LABEL}, key_label: elsewhere`, CHECKPOINTS)),
        refused(/no Ed25519 private key labelled "elsewhere" on token "dbward-attack"/),
      );
    });

    test("two tokens under the label the config names", async () => {
      await assert.rejects(
        open(hsmSigning("token_label: same-label, key_label: tokens", CHECKPOINTS)),
        refused(/2 tokens are labelled "same-label"/),
      );
    });

    test("two key pairs under one label; naming the key id too picks one", async () => {
      await assert.rejects(
        open(hsmSigning(`token_label: ${LABEL}, key_label: twin`, CHECKPOINTS)),
        refused(/more than one Ed25519 private key labelled "twin"/),
      );
      const opened = await open(
        hsmSigning(`token_label: ${LABEL}, key_label: twin, key_id: "04"`, CHECKPOINTS),
      );
      opened.close();
    });

    test("a key with CKA_SIGN false", async () => {
      await assert.rejects(
        open(hsmSigning(`token_label: ${LABEL}, key_label: no-sign`, CHECKPOINTS)),
        refused(/CKA_SIGN is false/),
      );
    });

    test("a wrong PIN", async () => {
      await assert.rejects(
        open(hsmSigning(TOKENS, CHECKPOINTS), { DBWARD_HSM_PIN: `${PIN}-wrong` }),
        refused(/PIN in DBWARD_HSM_PIN is wrong/),
      );
      for (const m of messages) assert.ok(!m.includes(`${PIN}-wrong`), m);
    });

    test("a PIN file that is a symlink to a file others can read", async () => {
      const d = fresh("dbward-attack-");
      writeFileSync(join(d, "pin"), PIN, { mode: 0o644 });
      symlinkSync(join(d, "pin"), join(d, "pin-link"));
      const signing = hsmSigning(TOKENS, CHECKPOINTS).replace(
        /checkpoints: \{ (.*)pin_env: DBWARD_HSM_PIN/,
        `checkpoints: { $1pin_file: ${join(d, "pin-link")}`,
      );
      await assert.rejects(open(signing), refused(/readable by group or others \(mode 644\)/));
    });

    test("a module others can write, in a directory others can write, behind a symlink there, or no PKCS#11 module at all", async () => {
      const d = fresh("dbward-attack-");
      const writable = join(d, "writable.so");
      copyFileSync(SOFTHSM_LIBRARY, writable);
      chmodSync(writable, 0o666);
      const open_ = join(d, "open");
      mkdirSync(open_);
      chmodSync(open_, 0o777);
      copyFileSync(SOFTHSM_LIBRARY, join(open_, "lib.so"));
      chmodSync(join(open_, "lib.so"), 0o755);
      symlinkSync(SOFTHSM_LIBRARY, join(open_, "link.so"));
      const withLibrary = (library: string) =>
        hsmSigning(TOKENS, CHECKPOINTS).replace(`library: ${SOFTHSM_LIBRARY}`, `library: ${library}`);
      await assert.rejects(
        open(withLibrary(writable)),
        refused(/writable.so can be written by group or others \(mode 666\)/),
      );
      await assert.rejects(open(withLibrary(join(open_, "lib.so"))), refused(/its directory can be written/));
      await assert.rejects(
        open(withLibrary(join(open_, "link.so"))),
        refused(/the directory of the path can be written/),
      );
      await assert.rejects(
        open(withLibrary("/usr/lib/x86_64-linux-gnu/libz.so.1")),
        refused(/cannot load \/usr\/lib\/x86_64-linux-gnu\/libz.so.1/),
      );
    });

    test("none of those refusals shows the PIN", () => {
      assert.ok(messages.length >= 9, `${messages.length} refusals`);
      for (const m of messages) assert.ok(!m.includes(PIN), m);
    });
  });

  describe("at run time", () => {
    let signers: Awaited<ReturnType<typeof openSigners>>;
    let lib: Awaited<ReturnType<typeof loadPkcs11Library>>;
    let realSign: typeof lib.pkcs11.C_Sign;
    let realSignInit: typeof lib.pkcs11.C_SignInit;
    before(async () => {
      signers = await open(hsmSigning(TOKENS, CHECKPOINTS));
      // The module the signers loaded (one per process): the HSM's own binding, watched or broken
      // below the signers, never dbward's code.
      lib = await loadPkcs11Library(SOFTHSM_LIBRARY, "test");
      realSign = lib.pkcs11.C_Sign;
      realSignInit = lib.pkcs11.C_SignInit;
    });
    after(() => {
      lib.pkcs11.C_Sign = realSign;
      lib.pkcs11.C_SignInit = realSignInit;
      signers.close();
      lib.release();
    });
    const restore = () => {
      lib.pkcs11.C_Sign = realSign;
      lib.pkcs11.C_SignInit = realSignInit;
    };

    test("200 signatures at once across the token and the checkpoint signer: one HSM call at a time, every one verifies", async () => {
      let inFlight = 0;
      let most = 0;
      lib.pkcs11.C_SignInit = function (this: unknown, ...args: Parameters<typeof realSignInit>) {
        inFlight += 1;
        most = Math.max(most, inFlight);
        return realSignInit.apply(lib.pkcs11, args);
      };
      lib.pkcs11.C_Sign = function (this: unknown, ...args: unknown[]) {
        const done = args[3] as (err: Error | null, sig: Buffer) => void;
        return (realSign as (...a: unknown[]) => unknown).apply(lib.pkcs11, [
          ...args.slice(0, 3),
          (err: Error | null, sig: Buffer) => {
            inFlight -= 1;
            done(err, sig);
          },
        ]);
      } as typeof realSign;
      try {
        const jobs = Array.from({ length: 200 }, (_, i) => {
          const signer = i % 2 === 0 ? signers.tokens.signer : signers.checkpoints.signer;
          const message = randomBytes(40);
          return signer.sign(message).then((sig) => verifySignature(signer.publicKey, message, sig));
        });
        assert.deepEqual(new Set(await Promise.all(jobs)), new Set([true]));
        assert.equal(most, 1, "C_SignInit…C_Sign never overlap on one module");
      } finally {
        restore();
      }
    });

    test("a token reset (every session closed under the bot): the next signature opens a fresh session", async () => {
      const slot = lib.pkcs11
        .C_GetSlotList(true)
        .find((s) => lib.pkcs11.C_GetTokenInfo(s).label.trim() === LABEL);
      assert.ok(slot !== undefined);
      lib.pkcs11.C_CloseAllSessions(slot);
      const tok = await signExecutionTokenWith(signers.tokens.signer, INPUT);
      assert.equal(verifyExecutionToken(tok, agentPinning(signers.tokens.signer)).ok, true);
    });

    test("an HSM that stops signing, then answers garbage: signing.unavailable, no token; signing again once it is back", async () => {
      lib.pkcs11.C_Sign = (() => {
        throw new Error("CKR_DEVICE_REMOVED");
      }) as typeof realSign;
      await assert.rejects(
        signExecutionTokenWith(signers.tokens.signer, INPUT),
        refusedWith(/the HSM did not sign \(CKR_DEVICE_REMOVED\)/, "signing.unavailable"),
      );
      lib.pkcs11.C_Sign = function (this: unknown, ...args: unknown[]) {
        (args[3] as (err: Error | null, sig: Buffer) => void)(null, randomBytes(64));
      } as typeof realSign;
      await assert.rejects(
        signExecutionTokenWith(signers.tokens.signer, INPUT),
        refusedWith(/returned a signature that does not verify/, "signing.unavailable"),
      );
      restore();
      const tok = await signExecutionTokenWith(signers.tokens.signer, INPUT);
      assert.equal(verifyExecutionToken(tok, agentPinning(signers.tokens.signer)).ok, true);
    });
    test("an HSM that hangs: each signature gives up after sign_timeout_ms, none runs beside the hung call, and signing resumes when it answers", async () => {
      const quick = await open(hsmSigning(TOKENS, CHECKPOINTS, ", sign_timeout_ms: 300"));
      let answer: ((err: Error | null, sig: Buffer) => void) | undefined;
      let calls = 0;
      lib.pkcs11.C_Sign = function (this: unknown, ...args: unknown[]) {
        calls += 1;
        answer = args[3] as typeof answer;
      } as typeof realSign;
      try {
        for (let i = 0; i < 2; i++)
          await assert.rejects(
            signExecutionTokenWith(quick.tokens.signer, INPUT),
            refusedWith(/the HSM did not sign \(no answer within 300 ms\)/, "signing.unavailable"),
          );
        assert.equal(calls, 1, "the second signature waited behind the hung call");
        restore();
        answer?.(new Error("CKR_DEVICE_ERROR"), Buffer.alloc(0));
        const tok = await signExecutionTokenWith(quick.tokens.signer, INPUT);
        assert.equal(verifyExecutionToken(tok, agentPinning(quick.tokens.signer)).ok, true);
      } finally {
        restore();
        quick.close();
      }
    });
  });

  describe("the real bot while its HSM does not sign", () => {
    let h: BotHarness;
    let lib: Awaited<ReturnType<typeof loadPkcs11Library>>;
    before(async () => {
      h = await startBotHarness(`${TEST_CONFIG}\n${hsmSigning(TOKENS, CHECKPOINTS)}\n`, { env });
      lib = await loadPkcs11Library(SOFTHSM_LIBRARY, "test");
    });
    after(async () => {
      await h.stop();
      lib.release();
    });

    test("a claim fails closed (503 signing.unavailable, the request still waiting, nothing audited as claimed) and succeeds once the HSM is back", async () => {
      const agent = h.agentTokens["agent-1"] as string;
      const created = await h.call(await h.tokenFor("alice"), "POST", "/api/requests", {
        database: "shop",
        environment: "staging",
        sql: "SELECT 42 AS answer",
        reason: "an HSM that went away",
      });
      assert.equal(created.status, 201, JSON.stringify(created.body));
      const request = created.body as RequestView;
      assert.equal(request.status, "dispatched");
      const caps = [{ database: "shop", environment: "staging", operations: ["read"] }];
      assert.equal(
        (await h.call(agent, "POST", "/api/agent/poll", { capabilities: caps, wait_ms: 0 })).status,
        200,
      );
      const claim = () => h.call(agent, "POST", `/api/agent/jobs/${request.id}-1/claim`, {});
      const realSign = lib.pkcs11.C_Sign;
      lib.pkcs11.C_Sign = (() => {
        throw new Error("CKR_DEVICE_REMOVED");
      }) as typeof realSign;
      try {
        const refused = await claim();
        assert.equal(refused.status, 503, JSON.stringify(refused.body));
        assert.match(JSON.stringify(refused.body), /"code":"signing.unavailable".*CKR_DEVICE_REMOVED/);
      } finally {
        lib.pkcs11.C_Sign = realSign;
      }
      const view = await h.call(await h.tokenFor("bob"), "GET", `/api/requests/${request.id}`);
      assert.equal((view.body as RequestView).status, "dispatched");
      const audit = await h.call(h.adminToken, "GET", `/api/audit?target=request:${request.id}&limit=100`);
      assert.ok(!JSON.stringify(audit.body).includes("request.claimed"), "no claim was recorded");

      const claimed = await claim();
      assert.equal(claimed.status, 200, JSON.stringify(claimed.body));
      const keys = (await h.call(agent, "GET", "/api/public-key")).body as PublicKeysView;
      const pinned = keys.keys.map((k) => ({
        kid: k.kid,
        publicKey: fromBase64url(k.public_key) as Uint8Array,
      }));
      const verdict = verifyExecutionToken((claimed.body as ClaimResponse).token, {
        ...agentPinning(...pinned),
        now: Math.floor(Date.now() / 1000),
        sql: "SELECT 42 AS answer",
      });
      assert.equal(verdict.ok, true, JSON.stringify(verdict));
      assert.ok(!keys.keys.some((k) => keys.checkpoint_keys.some((c) => c.public_key === k.public_key)));
    });
  });
});
