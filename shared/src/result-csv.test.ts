import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  cellsToJsonText,
  cellToJson,
  countCsvRows,
  csvChunkHead,
  csvText,
  csvTextLine,
  MAX_CSV_HEAD_BYTES,
  parseCsvChunkHead,
  parseCsvRows,
  parsePgArray,
} from "./result-csv.ts";

const bytes = (s: string): Buffer => Buffer.from(s);

describe("CSV as PostgreSQL's COPY writes it", () => {
  test("quotes empty text, commas, quotes, CR and LF, and keeps NULL an empty field", () => {
    assert.equal(
      csvTextLine([null, "", "a,b", 'say "hi"', "a\nb", "a\rb", "plain"]),
      ',"","a,b","say ""hi""","a\nb","a\rb",plain\n',
    );
  });

  test("quotes \\. only when it is a row's only field", () => {
    assert.equal(csvText("\\.", true), '"\\."');
    assert.equal(csvTextLine(["\\.", "x"]), "\\.,x\n");
  });
});

describe("countCsvRows", () => {
  test("counts whole rows of the expected width, quoted newlines and doubled quotes included", () => {
    assert.equal(countCsvRows(bytes('1,"a\nb"\n,""\n"x""y",z\n'), 0, 2), 3);
    assert.equal(countCsvRows(bytes("\n\n"), 0, 0), 2);
    assert.equal(countCsvRows(bytes("\n\n"), 0, 1), 2);
  });

  test("refuses a row of another width, a stray or unclosed quote, a bare CR or NUL and a cut last row", () => {
    for (const bad of ["1,2,3\n", 'a"b,c\n', '"open,c\n', "a\r,b\n", "a,b\nc,d", '"a"b,c\n', "a\0,b\n"]) {
      assert.equal(countCsvRows(bytes(bad), 0, 2), -1, JSON.stringify(bad));
    }
    assert.equal(countCsvRows(bytes('"a\0",b\n'), 0, 2), 1, "NUL inside quotes");
  });

  test("gives the answer of a plain byte-by-byte reading on 20,000 random texts of CSV's special bytes", () => {
    let seed = 7;
    const random = (k: number): number => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return Math.floor((seed / 2 ** 31) * k);
    };
    // Mostly whole fields and separators, so that many texts are valid rows, and every special
    // byte besides.
    const alphabet = [
      "a",
      "bc",
      "a",
      ",",
      ",",
      "\n",
      "\n",
      '"q"',
      '"x""y"',
      '"a\nb"',
      '""',
      '"',
      "\r",
      "\\.",
      "\\",
      "é",
      "\0",
      '"n\0"',
    ];
    for (let t = 0; t < 20_000; t++) {
      const text = Array.from({ length: random(14) }, () => alphabet[random(alphabet.length)]).join("");
      const fields = random(4);
      assert.equal(
        countCsvRows(bytes(text), 0, fields),
        referenceCount(bytes(text), fields),
        JSON.stringify([text, fields]),
      );
    }
  });

  test("reads its rows back: NULL as null, empty text as empty text", () => {
    assert.deepEqual(parseCsvRows(bytes('1,"a\nb"\n,""\n"x""y",é\n'), 0, 2), [
      ["1", "a\nb"],
      [null, ""],
      ['x"y', "é"],
    ]);
    assert.deepEqual(parseCsvRows(bytes("\n"), 0, 1), [[null]]);
    assert.deepEqual(parseCsvRows(bytes("\n"), 0, 0), [[]]);
  });
});

describe("CSV chunk heads", () => {
  test("name the kinds, and refuse a kind that does not exist", () => {
    const chunk = bytes(`${csvChunkHead(["number", "text[]"])}1,{a}\n`);
    assert.deepEqual(parseCsvChunkHead(chunk), { kinds: ["number", "text[]"], rowsAt: 19 });
    assert.deepEqual(parseCsvChunkHead(bytes("%csv \n\n")), { kinds: [], rowsAt: 6 });
    assert.equal(parseCsvChunkHead(bytes("%csv number,money\n1,2\n")), undefined);
    assert.equal(parseCsvChunkHead(bytes("[1]\n")), undefined);
  });

  test("take a head line of MAX_CSV_HEAD_BYTES, its newline included, and refuse one byte more", () => {
    // "%csv ", then each kind with its comma or the newline: `text` 5 bytes, `number` 7.
    const head = (last: string): Buffer =>
      bytes(
        `%csv ${[...Array.from({ length: 13_102 }, () => "text"), "number", "number", last].join(",")}\n`,
      );
    const fits = head("number");
    assert.equal(fits.length, MAX_CSV_HEAD_BYTES);
    assert.equal(parseCsvChunkHead(fits)?.kinds.length, 13_105);
    const over = head("boolean");
    assert.equal(over.length, MAX_CSV_HEAD_BYTES + 1);
    assert.equal(parseCsvChunkHead(over), undefined);
  });
});

describe("cellToJson", () => {
  test("gives numbers, booleans, documents, base64 bytes and UTC instants", () => {
    assert.deepEqual(
      [
        cellToJson("number", "-12"),
        cellToJson("number", "1e+20"),
        cellToJson("number", "NaN"),
        cellToJson("boolean", "t"),
        cellToJson("boolean", "f"),
        cellToJson("json", '{"a": [1, "b"]}'),
        cellToJson("bytea", "\\x00fffe"),
        cellToJson("timestamptz", "2024-02-03 04:05:06.789123+02"),
        cellToJson("timestamptz", "2024-02-03 04:05:06-03:30"),
        cellToJson("timestamptz", "infinity"),
        cellToJson("text", "1"),
        cellToJson("number", null),
      ],
      [
        -12,
        1e20,
        "NaN",
        true,
        false,
        { a: [1, "b"] },
        "AP/+",
        "2024-02-03T02:05:06.789Z",
        "2024-02-03T07:35:06.000Z",
        "Infinity",
        "1",
        null,
      ],
    );
  });

  test("reads arrays of any depth with NULL, quoted and escaped elements", () => {
    assert.deepEqual(cellToJson("number[]", "{{1,2},{NULL,4}}"), [
      [1, 2],
      [null, 4],
    ]);
    assert.deepEqual(cellToJson("text[]", '{"a b","c,d",NULL,"NULL","q\\"t","back\\\\slash"}'), [
      "a b",
      "c,d",
      null,
      "NULL",
      'q"t',
      "back\\slash",
    ]);
    assert.deepEqual(cellToJson("bytea[]", '{"\\\\x01"}'), ["AQ=="]);
    assert.deepEqual(cellToJson("json[]", '{"{\\"a\\": 1}"}'), [{ a: 1 }]);
    assert.deepEqual(cellToJson("boolean[]", "{}"), []);
  });

  test("keeps the server's text when its kind cannot read it", () => {
    assert.equal(cellToJson("number[]", "[0:1]={1,2}"), "[0:1]={1,2}");
    assert.equal(cellToJson("bytea", "\\001"), "\\001");
    assert.equal(cellToJson("timestamptz", "03.02.2024 04:05:06 CET"), "03.02.2024 04:05:06 CET");
    assert.equal(parsePgArray("{1,2"), undefined);
  });
});

describe("values too deep to write back", () => {
  const deep = `${"[".repeat(10_000)}${"]".repeat(10_000)}`;

  test("a json cell deeper than JSON.stringify can write is its text as a value, and itself in JSON text", () => {
    assert.equal(cellToJson("json", deep), deep);
    assert.deepEqual(cellToJson("json", '{"a": [1]}'), { a: [1] });
    assert.equal(cellsToJsonText([deep, "[1]", null], ["json", "json", "json"]), `[${deep},[1],null]`);
  });

  test("json text goes out as one valid line: newlines become spaces, a cell that is not JSON a string", () => {
    const line = cellsToJsonText(
      ['{"a":\n 1}', "1,2", '{"{\\"x\\":[1,2]}",NULL}'],
      ["json", "json", "json[]"],
    );
    assert.equal(line, '[{"a":  1},"1,2",[{"x":[1,2]},null]]');
    assert.deepEqual(JSON.parse(line), [{ a: 1 }, "1,2", [{ x: [1, 2] }, null]]);
  });

  test("an array text deeper than PostgreSQL's 6 dimensions stays text instead of overflowing the parser", () => {
    const hostile = `${"{".repeat(200_000)}1${"}".repeat(200_000)}`;
    assert.equal(parsePgArray(hostile), undefined);
    assert.equal(cellToJson("text[]", hostile), hostile);
    assert.equal(cellsToJsonText([hostile], ["text[]"]), JSON.stringify([hostile]));
    assert.deepEqual(parsePgArray("{{{{{{1}}}}}}"), [[[[[["1"]]]]]]);
    assert.equal(parsePgArray("{{{{{{{1}}}}}}}"), undefined);
  });
});

/** The rules of countCsvRows read one byte at a time, as plainly as they are written. */
function referenceCount(b: Uint8Array, fields: number): number {
  let rows = 0;
  let i = 0;
  while (i < b.length) {
    const cells: string[] = [];
    for (;;) {
      let cell = "";
      if (b[i] === 0x22) {
        i += 1;
        for (;;) {
          if (i >= b.length) return -1;
          if (b[i] === 0x22 && b[i + 1] === 0x22) i += 2;
          else if (b[i] === 0x22) break;
          else i += 1;
        }
        i += 1;
        cell = "quoted";
      } else {
        while (i < b.length && b[i] !== 0x2c && b[i] !== 0x0a) {
          if (b[i] === 0x22 || b[i] === 0x0d || b[i] === 0x00) return -1;
          cell += String.fromCharCode(b[i] as number);
          i += 1;
        }
      }
      cells.push(cell);
      if (i >= b.length) return -1;
      const sep = b[i];
      i += 1;
      if (sep === 0x0a) break;
      if (sep !== 0x2c) return -1;
    }
    if (fields === 0 ? cells.length !== 1 || cells[0] !== "" : cells.length !== fields) return -1;
    if (fields === 1 && cells[0] === "\\.") return -1;
    rows += 1;
  }
  return rows;
}
