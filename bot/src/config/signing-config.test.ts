import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { DbwardError } from "@dbward/shared";
import { parseBotConfig } from "./bot-config.ts";

const BASE =
  "databases: [{ name: shop, dialect: postgres, environments: [production] }]\nworkflows: [{ name: w, auto_approve: always }]\n";
const HSM = "provider: pkcs11, library: /usr/lib/softhsm/libsofthsm2.so, token_label: t";

/** The problems the config reports for a `signing:` section, one string. */
function problems(signing: string): string {
  try {
    parseBotConfig(`${BASE}signing:\n${signing}\n`);
    return "";
  } catch (err) {
    assert.ok(err instanceof DbwardError && err.code === "config.invalid", String(err));
    return err.message;
  }
}

describe("the signing section", () => {
  test("defaults: the token key file, and a checkpoint key derived from it", () => {
    assert.deepEqual(parseBotConfig(BASE).signing, {
      tokens: { provider: "file" },
      checkpoints: { provider: "derived" },
    });
  });

  test("takes an HSM key for each purpose, named by label or id, with the PIN from the environment or a file", () => {
    assert.equal(
      problems(
        `  tokens: { ${HSM}, key_label: tok, pin_env: HSM_PIN }\n  checkpoints: { ${HSM}, key_id: 0a1b, pin_file: /run/secrets/pin }`,
      ),
      "",
    );
  });

  test("refuses unknown keys with the key meant", () => {
    assert.match(
      problems("  token: { provider: file }"),
      /signing: unknown key "token"; did you mean `tokens`\?/,
    );
    assert.match(
      problems(`  tokens: { ${HSM}, key_lable: tok, pin_env: P }`),
      /signing\.tokens: unknown key "key_lable"; did you mean `key_label`\?/,
    );
    assert.match(problems("  tokens: { provider: kms }"), /signing\.tokens/);
  });

  test("refuses a PIN in the config file, two PIN sources or none, and an unnamed key", () => {
    assert.match(problems(`  tokens: { ${HSM}, key_label: tok, pin: "1234" }`), /unknown key "pin"/);
    assert.match(problems(`  tokens: { ${HSM}, key_label: tok }`), /exactly one of pin_env .* or pin_file/);
    assert.match(
      problems(`  tokens: { ${HSM}, key_label: tok, pin_env: P, pin_file: /p }`),
      /exactly one of pin_env .* or pin_file/,
    );
    assert.match(problems(`  tokens: { ${HSM}, pin_env: P }`), /name the key: key_label, key_id or both/);
    assert.match(problems(`  tokens: { ${HSM}, key_id: xyz, pin_env: P }`), /must be hex/);
    assert.match(
      problems(
        "  tokens: { provider: pkcs11, library: libsofthsm2.so, token_label: t, key_label: k, pin_env: P }",
      ),
      /absolute path/,
    );
  });

  test("refuses a derived checkpoint key without a token key file, and one HSM key for both purposes", () => {
    assert.match(
      problems(`  tokens: { ${HSM}, key_label: tok, pin_env: P }`),
      /signing\.checkpoints: a derived checkpoint key needs signing\.tokens\.provider file/,
    );
    assert.match(
      problems(
        `  tokens: { ${HSM}, key_label: k, pin_env: P }\n  checkpoints: { ${HSM}, key_label: k, pin_env: P }`,
      ),
      /tokens and checkpoints name the same HSM key/,
    );
    assert.match(problems("  tokens: { provider: derived }"), /signing\.tokens/);
  });
});
