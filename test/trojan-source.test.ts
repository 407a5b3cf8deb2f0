/**
 * Trojan Source over real HTTP against a real bot (SECURITY.md): what the approver reads is what
 * runs. Bytes in are bytes stored: a body that is not valid UTF-8 is refused with 400 before
 * anything decodes it, valid multi-byte text is stored exactly. SQL with bidirectional or
 * invisible characters is refused in production, warned about elsewhere, stored byte for byte,
 * and shown escaped by the CLI.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { sha256Hex, type ErrorBody, type RequestView } from "@dbward/shared";
import { EXIT } from "../cli/src/exit-codes.ts";
import { main } from "../cli/src/main.ts";
import { captureOutput } from "./support/capture-output.ts";
import { startBotHarness, type BotHarness } from "./support/bot-harness.ts";

/** Reads like a harmless UPDATE of one row; a right-to-left override hides what the comment does. */
const HIDDEN = "UPDATE accounts SET flag = 1 WHERE id = 1 /*\u202e -- */";
const SHOWN = "UPDATE accounts SET flag = 1 WHERE id = 1 /*⟨U+202E⟩ -- */";

describe("Trojan Source: bytes in are bytes stored, and what the approver reads is what runs", () => {
  let h: BotHarness;
  let alice: string;
  const dir = mkdtempSync(join(tmpdir(), "dbward-trojan-"));
  before(async () => {
    h = await startBotHarness();
    alice = await h.tokenFor("alice");
  });
  after(async () => {
    await h.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const stored = async (): Promise<number> =>
    (await h.bot.store.selectFrom("requests").select("id").execute()).length;

  /** POSTs exactly these bytes as a request body. */
  async function postBytes(body: Buffer, contentType = "application/json") {
    const res = await fetch(`${h.url}/api/requests`, {
      method: "POST",
      headers: { authorization: `Bearer ${alice}`, "content-type": contentType },
      body,
    });
    return { status: res.status, body: (await res.json()) as unknown };
  }

  const jsonBytes = (sqlBytes: Buffer): Buffer =>
    Buffer.concat([
      Buffer.from('{"database":"shop","environment":"staging","reason":"fix","sql":"', "utf8"),
      sqlBytes,
      Buffer.from('"}', "utf8"),
    ]);

  for (const [what, bytes] of [
    ["a lone continuation byte", Buffer.from([0x80])],
    ["a truncated sequence", Buffer.from([0xe2, 0x82])],
    ["an overlong encoding of '/'", Buffer.from([0xc0, 0xaf])],
    ["an encoded surrogate", Buffer.from([0xed, 0xa0, 0x80])],
    ["a byte that never occurs in UTF-8", Buffer.from([0xff])],
  ] as const) {
    test(`an API request with ${what} in its SQL gets 400 and nothing is stored`, async () => {
      const before = await stored();
      const sql = Buffer.concat([Buffer.from("UPDATE accounts SET name = '", "utf8"), bytes]);
      const res = await postBytes(jsonBytes(Buffer.concat([sql, Buffer.from("' WHERE id = 1")])));
      assert.equal(res.status, 400);
      assert.deepEqual((res.body as ErrorBody).error, {
        code: "request.invalid",
        message: "the body is not valid UTF-8",
      });
      assert.equal(await stored(), before);
    });
  }

  test("a body declared as another charset than UTF-8 gets 400 and nothing is stored", async () => {
    const before = await stored();
    const json = JSON.stringify({ database: "shop", environment: "staging", reason: "x", sql: "SELECT 1" });
    const res = await postBytes(Buffer.from(json, "utf16le"), "application/json; charset=utf-16le");
    assert.equal(res.status, 400);
    assert.equal((res.body as ErrorBody).error.message, "the body is not valid UTF-8");
    assert.equal(await stored(), before);
  });

  test("valid multi-byte UTF-8 (emoji, CJK, accents) is stored byte for byte", async () => {
    const sql = "UPDATE accounts SET name = '山田 太郎 👍🏽 🐘 Zoë' WHERE id = 2";
    const res = await postBytes(jsonBytes(Buffer.from(sql, "utf8")));
    assert.equal(res.status, 201, JSON.stringify(res.body));
    const view = res.body as RequestView;
    assert.equal(view.sql, sql);
    assert.equal(view.sql_sha256, sha256Hex(sql));
    assert.deepEqual(view.review.findings, []);
  });

  test("SQL with a right-to-left override is refused in production, naming the character", async () => {
    const before = await stored();
    const res = await h.call(alice, "POST", "/api/requests", {
      database: "shop",
      environment: "production",
      sql: HIDDEN,
      reason: "fix",
    });
    assert.equal(res.status, 422);
    assert.equal((res.body as ErrorBody).error.code, "sql.rejected");
    assert.match((res.body as ErrorBody).error.message, /do not show.*U\+202E/);
    assert.equal(await stored(), before);
  });

  test("outside production it is stored byte for byte with a warning, and the CLI shows it escaped", async () => {
    const res = await h.call(alice, "POST", "/api/requests", {
      database: "shop",
      environment: "staging",
      sql: HIDDEN,
      reason: "fix",
    });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    const view = res.body as RequestView;
    assert.equal(view.sql, HIDDEN);
    assert.equal(view.sql_sha256, sha256Hex(HIDDEN));
    assert.deepEqual(
      view.review.findings.map((f) => [f.rule, f.severity]),
      [["invisible_characters", "warn"]],
    );
    const row = await h.bot.store
      .selectFrom("requests")
      .select("sql_text")
      .where("id", "=", view.id)
      .executeTakeFirstOrThrow();
    assert.equal(row.sql_text, HIDDEN);

    const env = { DBWARD_URL: h.url, DBWARD_TOKEN: alice };
    const show = captureOutput();
    assert.equal(await main(["request", "show", String(view.id)], env, show), EXIT.ok);
    const shown = show.stdout.join("\n");
    assert.ok(shown.includes(SHOWN), shown);
    assert.ok(!shown.includes("\u202e"));
    assert.match(shown, /finding: {3}\[warn\] invisible_characters/);

    const list = captureOutput();
    assert.equal(await main(["request", "list", "--mine"], env, list), EXIT.ok);
    assert.match(list.stdout.join("\n"), /\/\*⟨U\+/, "the list line is cut at 50 characters");
    assert.ok(!list.stdout.join("\n").includes("\u202e"));

    const json = captureOutput();
    assert.equal(await main(["request", "show", String(view.id), "--json"], env, json), EXIT.ok);
    const printed = json.stdout.join("\n");
    assert.ok(printed.includes("\\u202e") && !printed.includes("\u202e"), printed);
    assert.equal((JSON.parse(printed) as RequestView).sql, HIDDEN, "JSON still parses to the stored text");
  });

  test("dbward request create --file refuses a file that is not UTF-8 and sends nothing", async () => {
    const before = await stored();
    const file = join(dir, "latin1.sql");
    writeFileSync(file, Buffer.from("UPDATE accounts SET name = 'Zo\xeb' WHERE id = 3", "latin1"));
    const out = captureOutput();
    const code = await main(
      ["request", "create", "--db", "shop", "--env", "staging", "--file", file, "--reason", "x"],
      { DBWARD_URL: h.url, DBWARD_TOKEN: alice },
      out,
    );
    assert.equal(code, EXIT.usage);
    assert.match(out.stderr.join("\n"), /latin1\.sql is not valid UTF-8/);
    assert.equal(await stored(), before);
  });
});
