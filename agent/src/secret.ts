/**
 * A value that must never reach a log line, an error message or a result: the agent token and
 * database connection URLs. Every way Node or pino turns an object into text (`String(x)`,
 * template literals, `JSON.stringify`, `util.inspect`, `console.log`) yields `[redacted]`; the
 * value itself sits in a private field and only `reveal()` returns it, so each use is a
 * deliberate, greppable call.
 */
const REDACTED = "[redacted]";

export class Secret {
  readonly #value: string;

  constructor(value: string) {
    this.#value = value;
  }

  /** The secret itself. Call it only where the value is handed to a driver or an HTTP header. */
  reveal(): string {
    return this.#value;
  }

  toString(): string {
    return REDACTED;
  }

  toJSON(): string {
    return REDACTED;
  }

  [Symbol.for("nodejs.util.inspect.custom")](): string {
    return REDACTED;
  }
}
