/** Both chunk formats an agent may send, as the bot checks and serves them. */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { csvChunkHead, type DbwardError } from "@dbward/shared";
import { chunkCsv, chunkNdjson, chunkRows, countChunkRows } from "./result-chunk.ts";

const csvChunk = (rows: string): Buffer => Buffer.from(`${csvChunkHead(["number", "text", "json"])}${rows}`);
const refused = (body: Buffer, pattern: RegExp): void =>
  assert.throws(
    () => countChunkRows(body),
    (err: DbwardError) => err.code === "request.invalid" && pattern.test(err.message),
  );

describe("result chunks", () => {
  test("counts the rows of a CSV chunk and of an NDJSON chunk", () => {
    assert.equal(countChunkRows(csvChunk('1,"a\nb","{""k"": 1}"\n2,,\n')), 2);
    assert.equal(countChunkRows(Buffer.from('[1,"a"]\n[2,null]\n')), 2);
  });

  test("refuses a CSV chunk without a known head, with rows of another width, cut short, empty or not UTF-8", () => {
    refused(Buffer.from("%csv number,money\n1,2\n"), /known column kinds/);
    refused(Buffer.from("%nope\n1\n"), /known column kinds/);
    refused(csvChunk("1,a\n"), /whole rows of 3 fields/);
    refused(csvChunk('1,"a,b\n'), /whole rows of 3 fields/);
    refused(csvChunk("1,a,b"), /whole rows of 3 fields/);
    refused(csvChunk(""), /whole rows of 3 fields/);
    refused(Buffer.concat([csvChunk(""), Buffer.from([0xff, 0x2c, 0x2c, 0x0a])]), /UTF-8/);
  });

  test("serves a CSV chunk's rows as its own bytes, and as typed JSON rows", () => {
    const chunk = csvChunk('1,"a\nb","{""k"": [1]}"\n2,,\n');
    assert.equal(chunkCsv(chunk).toString("utf8"), '1,"a\nb","{""k"": [1]}"\n2,,\n');
    // A json cell is the server's own text, not parsed and written again.
    assert.equal(chunkNdjson(chunk).toString("utf8"), '[1,"a\\nb",{"k": [1]}]\n[2,null,null]\n');
    assert.deepEqual(chunkRows(chunk), [
      [1, "a\nb", { k: [1] }],
      [2, null, null],
    ]);
  });

  test("serves an NDJSON chunk as it did before CSV chunks", () => {
    const chunk = Buffer.from('[1,"a,b",null]\n');
    assert.equal(chunkNdjson(chunk), chunk);
    assert.equal(chunkCsv(chunk).toString("utf8"), '1,"a,b",\n');
    assert.deepEqual(chunkRows(chunk), [[1, "a,b", null]]);
  });
});
