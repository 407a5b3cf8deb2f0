/**
 * HSM-backed signing (docs/security-hardening.md, "HSM-backed signing") against a real PKCS#11
 * token: Debian's SoftHSM2, Ed25519 keys generated inside it and never readable out of it, the
 * pkcs11js binding, CKM_EDDSA. The real bot starts on file keys, is switched to the HSM keys on
 * the same state, and the real agent runs what it signs on the real PostgreSQL; a token signed by
 * the old file key, or by the checkpoint key, is refused by an agent that pins only the new token
 * key; checkpoints are signed by the HSM checkpoint key and verify, a token key's signature over a
 * checkpoint does not. A wrong PIN, a missing key, a missing module, an extractable key: the bot
 * does not start.
 */
import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import type { AgentHandle } from "@dbward/agent";
import { listAudit } from "@dbward/bot";
import {
  DbwardError,
  TOKEN_TYPE,
  base64url,
  canonicalJson,
  checkpointSigningBytes,
  fromBase64url,
  signExecutionToken,
  signingKeyFromSecret,
  verifyCheckpointSignature,
  type ClaimResponse,
  type ExecutionClaims,
  type PublicKeysView,
  type RequestView,
  type SignedCheckpoint,
  type SigningKey,
} from "@dbward/shared";
import { storedPublicKeys, takeCheckpoint } from "../bot/src/audit/audit-checkpoints.ts";
import { parseBotConfig } from "../bot/src/config/bot-config.ts";
import { openSigners } from "../bot/src/keys/open-signers.ts";
import { EXIT } from "../cli/src/exit-codes.ts";
import { main } from "../cli/src/main.ts";
import { DEFAULT_AGENT_DBS, startTestAgent } from "./support/agent-harness.ts";
import { startBotHarness, TEST_CONFIG, type BotHarness } from "./support/bot-harness.ts";
import { captureOutput } from "./support/capture-output.ts";
import { spawnDbward, token } from "./support/processes.ts";
import { SOFTHSM_LIBRARY, makeSoftHsmToken, softHsmMissing, type SoftHsmToken } from "./support/softhsm.ts";
import { waitForStatus } from "./support/wait.ts";

const skip = softHsmMissing();
const PIN = "246810";
const LABEL = "dbward-test";

/** The `signing:` section naming keys on the test token. */
function signingYaml(pinFile: string, tokens = "dbward-tokens", checkpoints = "dbward-checkpoints"): string {
  const hsm = `provider: pkcs11, library: ${SOFTHSM_LIBRARY}, token_label: ${LABEL}`;
  return [
    "signing:",
    `  tokens: { ${hsm}, key_label: ${tokens}, pin_env: DBWARD_HSM_PIN }`,
    `  checkpoints: { ${hsm}, key_label: ${checkpoints}, pin_file: ${pinFile} }`,
  ].join("\n");
}

describe("HSM-backed signing with SoftHSM2 (PKCS#11, CKM_EDDSA)", { skip }, () => {
  const dir = mkdtempSync(join(tmpdir(), "dbward-signer-"));
  const pinFile = join(dir, "hsm-pin");
  let hsm: SoftHsmToken;
  const env = {
    DBWARD_ADMIN_TOKEN: token("dbw_"),
    DBWARD_AGENT_TOKEN_AGENT_1: token("dbwa_"),
    DBWARD_HSM_PIN: PIN,
  };
  let h: BotHarness | undefined;
  let agent: AgentHandle | undefined;
  let fileKey: SigningKey;
  let fileCheckpoint: SignedCheckpoint;
  before(() => {
    hsm = makeSoftHsmToken(LABEL, PIN, [
      { label: "dbward-tokens", id: "01" },
      { label: "dbward-checkpoints", id: "02" },
      { label: "readable", id: "03", extractable: true },
      // Two pairs under one label: its private key from one, its public key from the other.
      { label: "mismatched", id: "04", publicLabel: "spare" },
      { label: "spare", id: "05", publicLabel: "mismatched" },
    ]);
    // Read by libsofthsm2 when the bot initialises it.
    process.env.SOFTHSM2_CONF = hsm.conf;
    writeFileSync(pinFile, `${PIN}\n`, { mode: 0o600 });
  });
  after(async () => {
    await agent?.stop();
    await h?.stop();
    hsm.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const config = (signing = ""): string => `${TEST_CONFIG}\n${signing}\n`;
  const startBot = (signing = ""): Promise<BotHarness> =>
    startBotHarness(config(signing), { dataDir: dir, env });

  /** What the wrapped bot connection hands the agent in place of each claimed job's token. */
  let resign: ((claims: ExecutionClaims, header: string, payload: string) => Promise<string>) | undefined;

  /** The real bot connection, with each claimed job's token replaced by `resign` when it is set. */
  const wrappedBot: typeof fetch = async (input, init) => {
    const res = await fetch(input, init);
    const url = typeof input === "string" ? input : input instanceof URL ? input.href : input.url;
    const by = resign;
    if (by === undefined || res.status !== 200 || !/\/api\/agent\/jobs\/[^/]+\/claim$/.test(url)) return res;
    const claim = (await res.json()) as ClaimResponse;
    const [header, payload] = claim.token.split(".") as [string, string];
    const claims = JSON.parse(Buffer.from(payload, "base64url").toString("utf8")) as ExecutionClaims;
    return new Response(JSON.stringify({ ...claim, token: await by(claims, header, payload) }), {
      status: 200,
      headers: { "content-type": "application/json" },
    });
  };

  /** A token for `claims` under `kid`, signed by `sign` (the bytes a bot would sign for that key). */
  async function tokenUnder(
    kid: string,
    claims: ExecutionClaims,
    sign: (bytes: Uint8Array) => Promise<Uint8Array>,
  ): Promise<string> {
    const part = (v: unknown) => base64url(new TextEncoder().encode(canonicalJson(v)));
    const input = `${part({ alg: "EdDSA", kid, typ: TOKEN_TYPE })}.${part({ ...claims, kid })}`;
    return `${input}.${base64url(await sign(new TextEncoder().encode(input)))}`;
  }

  async function read(bot: BotHarness, reason: string): Promise<RequestView> {
    const res = await bot.call(await bot.tokenFor("alice"), "POST", "/api/requests", {
      database: "shop",
      environment: "staging",
      sql: "SELECT 42 AS answer",
      reason,
    });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    return res.body as RequestView;
  }

  describe("fail closed at start", () => {
    const refused = (pattern: RegExp) => (err: unknown) =>
      err instanceof DbwardError && err.code === "config.invalid" && pattern.test(err.message);
    // Async, so a config refusal is a rejection like a start refusal.
    const open = async (signing: string, extraEnv: Record<string, string> = {}) =>
      openSigners(parseBotConfig(config(signing)).signing, {
        dataDir: join(dir, "refusals"),
        env: { ...env, ...extraEnv },
        now: new Date(),
      });

    test("a wrong PIN: the real bot process exits with the reason and never listens", async () => {
      const d = mkdtempSync(join(dir, "wrong-pin-"));
      const file = join(d, "bot.yml");
      writeFileSync(file, config(`${signingYaml(pinFile)}\nlisten: { port: 1 }`));
      const proc = spawnDbward(["bot", "--config", file, "--data-dir", join(d, "bot")], {
        DBWARD_HSM_PIN: "000000",
        SOFTHSM2_CONF: hsm.conf,
      });
      assert.notEqual(await proc.exited, 0);
      assert.match(proc.stderr(), /signing\.tokens: the PIN in DBWARD_HSM_PIN is wrong/);
      assert.deepEqual(
        readdirSync(join(d, "bot")).filter((f) => f.endsWith(".json")),
        [],
        "no key file made instead",
      );
    });

    test("a PIN variable that is not set, a key label the token does not have, a module that is not there", async () => {
      await assert.rejects(
        open(signingYaml(pinFile), { DBWARD_HSM_PIN: "" }),
        refused(/DBWARD_HSM_PIN is not set/),
      );
      await assert.rejects(
        open(signingYaml(pinFile, "no-such-key")),
        refused(/signing\.tokens: no Ed25519 private key labelled "no-such-key" on token "dbward-test"/),
      );
      await assert.rejects(
        open(
          signingYaml(pinFile).replace(`library: ${SOFTHSM_LIBRARY}`, "library: /nonexistent/libpkcs11.so"),
        ),
        refused(/signing\.tokens\.library: \/nonexistent\/libpkcs11\.so does not exist/),
      );
    });

    test("a key that can be read out of the HSM, a public key of another pair, a PIN file others can read, one key for both purposes", async () => {
      await assert.rejects(open(signingYaml(pinFile, "readable")), refused(/can leave the HSM/));
      await assert.rejects(
        open(signingYaml(pinFile, "mismatched")),
        refused(/public key labelled "mismatched" does not belong to the private key of that name/),
      );
      const loose = join(dir, "loose-pin");
      writeFileSync(loose, PIN, { mode: 0o644 });
      await assert.rejects(open(signingYaml(loose)), refused(/readable by group or others/));
      await assert.rejects(
        open(signingYaml(pinFile, "dbward-tokens", "dbward-tokens")),
        refused(/tokens and checkpoints name the same HSM key/),
      );
    });
  });

  test("switched from the file key to the HSM key, the real agent runs what the HSM signs", async () => {
    // The first start: file keys, as every install had.
    h = await startBot();
    const file = JSON.parse(readFileSync(join(dir, "bot", "signing-key.json"), "utf8")) as {
      kid: string;
      secret_key: string;
    };
    fileKey = signingKeyFromSecret(fromBase64url(file.secret_key) ?? new Uint8Array(), file.kid);
    assert.equal(h.bot.signingKey.kid, fileKey.kid);
    await read(h, "an event to sign");
    fileCheckpoint = (await takeCheckpoint(h.bot.store, h.bot.checkpointSigner, new Date())) ?? assert.fail();
    await h.stop();

    h = await startBot(signingYaml(pinFile));
    assert.notEqual(h.bot.signingKey.kid, fileKey.kid);
    assert.notEqual(h.bot.checkpointSigner.kid, h.bot.signingKey.kid);
    assert.deepEqual(
      readdirSync(join(dir, "bot")).filter((f) => f.endsWith(".json")),
      ["signing-key.json"],
      "the HSM keys left nothing on disk",
    );
    agent = await startTestAgent(
      h,
      "agent-1",
      DEFAULT_AGENT_DBS,
      { fetch: wrappedBot },
      { [h.bot.signingKey.kid]: base64url(h.bot.signingKey.publicKey) },
      env.DBWARD_AGENT_TOKEN_AGENT_1,
    );
    const r = await read(h, "signed in the HSM");
    const done = await waitForStatus(h, r.id, "succeeded");
    assert.equal(done.executions[0]?.row_count, 1);

    const keyEvents = (await listAudit(h.bot.store))
      .filter((e) => /^(checkpoint_)?key\./.test(e.action))
      .map((e) => [e.action, e.target, e.details.previous_kid ?? null]);
    assert.deepEqual(keyEvents.slice(-2), [
      ["key.changed", `key:${h.bot.signingKey.kid}`, fileKey.kid],
      ["checkpoint_key.changed", `key:${h.bot.checkpointSigner.kid}`, fileCheckpoint.kid],
    ]);
  });

  test("a token signed by the old file key, or by the checkpoint key, is refused and nothing runs", async () => {
    assert.ok(h !== undefined);
    const bot = h;
    const checkpointKey = bot.bot.checkpointSigner;
    const cases: [string, string, NonNullable<typeof resign>][] = [
      // The same claims, signed by the key the bot had before the switch (under its key id).
      [
        "the old file key",
        "token.unknown_key",
        async ({ ver: _ver, kid: _kid, ...claims }) => signExecutionToken(fileKey, claims),
      ],
      // The checkpoint key signs the token's exact bytes, under the pinned token key's id…
      [
        "the checkpoint key, under the token key's id",
        "token.bad_signature",
        async (_claims, header, payload) =>
          `${header}.${payload}.${base64url(await checkpointKey.sign(new TextEncoder().encode(`${header}.${payload}`)))}`,
      ],
      // …and under its own id, which no agent pins.
      [
        "the checkpoint key, under its own id",
        "token.unknown_key",
        (claims) => tokenUnder(checkpointKey.kid, claims, (b) => checkpointKey.sign(b)),
      ],
    ];
    for (const [name, code, by] of cases) {
      resign = by;
      const r = await read(bot, `signed by ${name}`);
      const failed = await waitForStatus(bot, r.id, "failed");
      assert.equal(failed.executions[0]?.error?.code, code, name);
      assert.equal(failed.executions[0]?.row_count ?? null, null, `${name}: the SQL never ran`);
    }
    resign = undefined;
  });

  test("checkpoints are signed by the HSM checkpoint key and verify; a token key's signature over one does not", async () => {
    assert.ok(h !== undefined);
    await read(h, "an event for the HSM checkpoint");
    const cp = (await takeCheckpoint(h.bot.store, h.bot.checkpointSigner, new Date())) ?? assert.fail();
    assert.equal(cp.kid, h.bot.checkpointSigner.kid);
    const trusted = await storedPublicKeys(h.bot.store);
    assert.deepEqual(verifyCheckpointSignature(cp, trusted), { ok: true });
    assert.deepEqual(
      verifyCheckpointSignature(fileCheckpoint, trusted),
      { ok: true },
      "the file era's checkpoint",
    );

    // The token key (in the HSM) signs the same head, under its own key id and under the checkpoint key's.
    for (const kid of [h.bot.signingKey.kid, cp.kid]) {
      const claims = { seq: cp.seq, hash: cp.hash, time: cp.time, kid };
      const sig = await h.bot.signingKey.sign(checkpointSigningBytes(claims));
      const forged: SignedCheckpoint = { ...cp, kid, sig: base64url(sig) };
      const verdict = verifyCheckpointSignature(forged, trusted);
      assert.equal(verdict.ok, false, kid);
      assert.equal(verdict.ok ? "" : verdict.reason, kid === cp.kid ? "bad_signature" : "unknown_key");
    }

    const published = (await (await fetch(`${h.url}/api/public-key`)).json()) as PublicKeysView;
    assert.deepEqual(
      published.keys.map((k) => k.kid),
      [h.bot.signingKey.kid],
    );
    assert.deepEqual(
      published.checkpoint_keys.map((k) => [k.kid, k.current]),
      [
        [cp.kid, true],
        [fileCheckpoint.kid, false],
      ],
    );
    assert.equal(
      published.checkpoint_keys.find((k) => k.kid === cp.kid)?.public_key,
      base64url(h.bot.checkpointSigner.publicKey),
    );

    await agent?.stop();
    agent = undefined;
    await h.stop();
    h = undefined;
    const out = captureOutput();
    const code = await main(["audit", "verify", "--data-dir", join(dir, "bot")], {}, out);
    assert.equal(code, EXIT.ok, out.stderr.join("\n"));
    assert.match(
      out.stdout.join("\n"),
      /audit chain verified: \d+ events .*against \d+ stored signed checkpoint\(s\)/,
    );
  });
});
