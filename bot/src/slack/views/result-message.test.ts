import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { formatTable, resultMessage, toCsv } from "./result-message.ts";

describe("results in Slack", () => {
  test("lays rows out as an aligned monospace table", () => {
    const t = formatTable(
      ["id", "status"],
      [
        [1, "new"],
        [22, null],
      ],
      { maxRows: 10 },
    );
    assert.equal(t.text, "id | status\n---+-------\n1  | new\n22 | NULL");
    assert.equal(t.shownRows, 2);
  });

  test("stays within the character budget and says how many rows it showed", () => {
    const rows = Array.from({ length: 500 }, (_, i) => [i, "x".repeat(60)]);
    const t = formatTable(["id", "v"], rows, { maxRows: 500, maxChars: 1000 });
    assert.ok(t.text.length <= 1000);
    assert.ok(t.shownRows > 0 && t.shownRows < 500);
    const m = resultMessage(
      {
        columns: ["id", "v"],
        rows,
        row_count: 500,
        truncated: true,
        request_id: 3,
        execution: 1,
        duration_ms: 9,
      },
      20,
    );
    const text = JSON.stringify(m.blocks);
    assert.match(text, /Showing the first \d+ of 500 rows/);
    assert.match(text, /stopped at its row cap/);
  });

  test("writes CSV by RFC 4180: quotes where needed, CRLF, NULL as empty", () => {
    assert.equal(
      toCsv(
        ["a", "b"],
        [
          ["x,y", 'say "hi"'],
          [null, "line\nbreak"],
          [true, { k: 1 }],
        ],
      ),
      'a,b\r\n"x,y","say ""hi"""\r\n,"line\nbreak"\r\ntrue,"{""k"":1}"\r\n',
    );
  });
});
