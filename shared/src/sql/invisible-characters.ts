/**
 * Characters that do not show, or that change how the text around them shows (Trojan Source,
 * CVE-2021-42574): a right-to-left override inside a comment or a string literal can make an approver
 * read one statement in Slack while the database runs another.
 *
 * The set, by code point:
 *  - every Default_Ignorable_Code_Point of Unicode's DerivedCoreProperties.txt (UAX #44), which
 *    covers the bidirectional embeddings, overrides and isolates (U+202A–U+202E, U+2066–U+2069),
 *    the zero-width characters and marks (U+200B–U+200F, U+2060–U+2064, U+FEFF), soft hyphen,
 *    ALM, CGJ, the Hangul fillers, variation selectors and the tag characters (U+E0000–U+E0FFF);
 *  - the format characters (General_Category Cf) that are not default-ignorable: the Arabic and
 *    Syriac number signs and the interlinear annotation marks, which also change what is drawn;
 *  - the line and paragraph separators U+2028 and U+2029, which some views break on and some do
 *    not;
 *  - control characters (Cc) other than tab and line feed, and a carriage return not followed by
 *    a line feed: in a terminal an ESC sequence or a bare CR rewrites what was printed before;
 *  - unpaired UTF-16 surrogates, which `guardText` refuses anyway.
 *
 * The table is written out rather than taken from `\p{…}` so the bot and the agent agree
 * whichever ICU their Node carries.
 */

/** Inclusive code point ranges, ascending. */
const RANGES: readonly (readonly [number, number])[] = [
  [0x0000, 0x0008], // C0 controls before tab
  [0x000b, 0x000c], // line tabulation, form feed
  [0x000e, 0x001f], // the rest of C0, ESC among them
  [0x007f, 0x009f], // DEL and C1 controls
  [0x00ad, 0x00ad], // soft hyphen
  [0x034f, 0x034f], // combining grapheme joiner
  [0x0600, 0x0605], // Arabic number signs (Cf)
  [0x061c, 0x061c], // Arabic letter mark
  [0x06dd, 0x06dd], // Arabic end of ayah (Cf)
  [0x070f, 0x070f], // Syriac abbreviation mark (Cf)
  [0x0890, 0x0891], // Arabic pound and piastre marks above (Cf)
  [0x08e2, 0x08e2], // Arabic disputed end of ayah (Cf)
  [0x115f, 0x1160], // Hangul choseong and jungseong fillers
  [0x17b4, 0x17b5], // Khmer inherent vowels
  [0x180b, 0x180f], // Mongolian free variation selectors, vowel separator
  [0x200b, 0x200f], // zero width space, ZWNJ, ZWJ, LRM, RLM
  [0x2028, 0x202e], // line and paragraph separators; LRE, RLE, PDF, LRO, RLO
  [0x2060, 0x206f], // word joiner, invisible operators, LRI, RLI, FSI, PDI, deprecated format
  [0x3164, 0x3164], // Hangul filler
  [0xfe00, 0xfe0f], // variation selectors 1–16
  [0xfeff, 0xfeff], // zero width no-break space (BOM)
  [0xffa0, 0xffa0], // halfwidth Hangul filler
  [0xfff0, 0xfffb], // reserved default-ignorables; interlinear annotation marks (Cf)
  [0x110bd, 0x110bd], // Kaithi number sign (Cf)
  [0x110cd, 0x110cd], // Kaithi number sign above (Cf)
  [0x13430, 0x1343f], // Egyptian hieroglyph format controls (Cf)
  [0x1bca0, 0x1bca3], // shorthand format controls
  [0x1d173, 0x1d17a], // musical symbol beam and phrase controls
  [0xe0000, 0xe0fff], // language tag, tag characters, variation selectors 17–256, reserved
];

const classOf = (ranges: readonly (readonly [number, number])[]): string =>
  ranges
    .map(([lo, hi]) =>
      lo === hi ? `\\u{${lo.toString(16)}}` : `\\u{${lo.toString(16)}}-\\u{${hi.toString(16)}}`,
    )
    .join("");

/**
 * One invisible character per match. With the `u` flag `[\uD800-\uDFFF]` matches only unpaired
 * surrogates. Global: use it only with `replace`, `matchAll` and `search`, which do not depend on
 * a `lastIndex` left by an earlier call.
 */
export const INVISIBLE_CHARACTER = new RegExp(`[${classOf(RANGES)}]|\\r(?!\\n)|[\\uD800-\\uDFFF]`, "gu");

/** `U+202E`, `U+E0041`: at least four upper-case hex digits, as Unicode writes code points. */
export function codePointLabel(codePoint: number): string {
  return `U+${codePoint.toString(16).toUpperCase().padStart(4, "0")}`;
}

/** Where the first invisible character is and how many there are. */
export interface InvisibleCharacters {
  readonly count: number;
  /** UTF-16 offset of the first one, like every finding position. */
  readonly position: number;
  readonly first: string;
}

/** The invisible characters of `text`, or undefined when it has none. */
export function findInvisibleCharacters(text: string): InvisibleCharacters | undefined {
  const position = text.search(INVISIBLE_CHARACTER);
  if (position < 0) return undefined;
  const count = text.match(INVISIBLE_CHARACTER)?.length ?? 0;
  return { count, position, first: codePointLabel(text.codePointAt(position) ?? 0) };
}
