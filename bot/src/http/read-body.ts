/**
 * Reading a request body, on demand and within a limit (SECURITY.md: resource exhaustion before
 * auth). No middleware parses bodies up front: a route authenticates its caller from the
 * headers, then asks for the body with the limit that fits it. So a body from a caller who is
 * refused is never read into memory, however large it claims to be.
 *
 * - The limit is counted on the bytes as they arrive; past it the rest is discarded, not read.
 * - Bodies above the small API limit take one of `http.max_large_bodies` slots while they are
 *   read; with none free the answer is 429 `rate.limited` with Retry-After, and the agent retries.
 * - JSON bodies keep body-parser's rules (media type `application/json`, strict: an object or an
 *   array, empty reads as `{}`) and the UTF-8 check on their raw bytes (utf8-body.ts).
 *   Compressed bodies are refused: their size on the wire says nothing about their size in memory.
 * - A body is read once; asking again gets the same answer.
 */
import { DbwardError, MAX_REQUEST_BODY_BYTES } from "@dbward/shared";
import type { Request } from "express";
import { verifyUtf8Json } from "./utf8-body.ts";

/** Counts the large bodies being read; its size is read per call, so a reload applies. */
export class LargeBodySlots {
  #busy = 0;
  constructor(private readonly capacity: () => number) {}

  tryTake(): boolean {
    if (this.#busy >= this.capacity()) return false;
    this.#busy += 1;
    return true;
  }

  give(): void {
    this.#busy -= 1;
  }

  get busy(): number {
    return this.#busy;
  }
}

const slotsOf = new WeakMap<Request, LargeBodySlots>();
const read = new WeakMap<Request, Promise<Buffer>>();

/** Called by the body gate for every request: which slots this request's large body takes. */
export function attachBodySlots(req: Request, slots: LargeBodySlots): void {
  slotsOf.set(req, slots);
}

/** The declared Content-Length, or undefined for a chunked body (or none). */
export function declaredLength(req: Request): number | undefined {
  const header = req.headers["content-length"];
  if (header === undefined || req.headers["transfer-encoding"] !== undefined) return undefined;
  return Number(header);
}

/** Whether the request has a body at all (RFC 9112 §6.3: Transfer-Encoding or Content-Length). */
function hasBody(req: Request): boolean {
  return req.headers["transfer-encoding"] !== undefined || (declaredLength(req) ?? 0) > 0;
}

export function tooLarge(limit: number): DbwardError {
  return new DbwardError("request.too_large", `request body is too large: at most ${limit} bytes here`);
}

/** The raw body, at most `limit` bytes; refused with 413 past it, without reading further. */
export function readRawBody(req: Request, limit: number): Promise<Buffer> {
  let body = read.get(req);
  if (body === undefined) {
    body = collect(req, limit);
    read.set(req, body);
  }
  return body;
}

function collect(req: Request, limit: number): Promise<Buffer> {
  if (!hasBody(req)) return Promise.resolve(Buffer.alloc(0));
  const declared = declaredLength(req);
  if (declared !== undefined && declared > limit) return Promise.reject(tooLarge(limit));
  const slots = slotsOf.get(req);
  if (slots === undefined) return Promise.reject(new Error("the body gate is not installed"));
  return new Promise<Buffer>((resolve, reject) => {
    const parts: Buffer[] = [];
    let size = 0;
    let slot = false;
    const takeSlotFor = (bytes: number): boolean => {
      if (slot || bytes <= MAX_REQUEST_BODY_BYTES) return true;
      slot = slots.tryTake();
      return slot;
    };
    const settle = (err: Error | undefined): void => {
      req.off("data", onData).off("end", onEnd).off("error", onError).off("close", onClose);
      if (slot) slots.give();
      slot = false;
      if (err === undefined) {
        resolve(Buffer.concat(parts, size));
        return;
      }
      parts.length = 0;
      // Whatever is left is discarded as it arrives; the body gate closes the connection soon.
      req.resume();
      reject(err);
    };
    const onData = (part: Buffer): void => {
      size += part.length;
      if (size > limit) settle(tooLarge(limit));
      else if (!takeSlotFor(size)) settle(busy());
      else parts.push(part);
    };
    const onEnd = (): void => settle(undefined);
    const onError = (err: Error): void => settle(cutOff(err));
    const onClose = (): void => settle(cutOff(undefined));
    if (!takeSlotFor(declared ?? 0)) return void reject(busy());
    req.on("data", onData).on("end", onEnd).on("error", onError).on("close", onClose);
  });
}

function busy(): DbwardError {
  return new DbwardError(
    "rate.limited",
    "the bot is reading as many large bodies as it may; try again in 1 s",
    {
      limit: "large_bodies",
      retry_after_seconds: 1,
    },
  );
}

function cutOff(cause: Error | undefined): DbwardError {
  return new DbwardError("request.invalid", "the request body was cut off before its end", {
    ...(cause === undefined ? {} : { cause: cause.message }),
  });
}

/**
 * The JSON body (strict: an object or an array; an empty body reads as `{}`), or undefined when
 * the request has no body or does not say it is JSON, as body-parser's `json()` did.
 */
export async function readJsonBody(req: Request, limit: number): Promise<unknown> {
  if (!hasBody(req) || req.is("application/json") === false) return undefined;
  const encoding = (req.get("content-encoding") ?? "identity").trim().toLowerCase();
  if (encoding !== "identity") {
    throw new DbwardError("request.invalid", "compressed bodies are not accepted; send it uncompressed");
  }
  const raw = await readRawBody(req, limit);
  verifyUtf8Json(req, undefined, raw, charsetOf(req) ?? "utf-8");
  const first = firstNonSpace(raw);
  if (first === undefined) return {};
  if (first !== 0x7b && first !== 0x5b) throw notJson();
  try {
    return JSON.parse(raw.toString("utf8")) as unknown;
  } catch {
    throw notJson();
  }
}

/** The first byte that is not JSON whitespace (RFC 8259 §2), or undefined. */
function firstNonSpace(raw: Buffer): number | undefined {
  for (const byte of raw) if (byte !== 0x20 && byte !== 0x09 && byte !== 0x0a && byte !== 0x0d) return byte;
  return undefined;
}

function notJson(): DbwardError {
  return new DbwardError("request.invalid", "request body is not valid JSON");
}

function charsetOf(req: Request): string | undefined {
  return /;\s*charset\s*=\s*"?([^";\s]+)"?/i.exec(req.get("content-type") ?? "")?.[1];
}
