/** Time and randomness are injected so tests control them (STYLE.md: modelling). */
import { randomBytes } from "node:crypto";

export interface Clock {
  now(): Date;
}

export interface Random {
  /** `n` bytes from a CSPRNG, base64url encoded. */
  secret(n: number): string;
}

export const systemClock: Clock = { now: () => new Date() };
export const systemRandom: Random = { secret: (n) => randomBytes(n).toString("base64url") };
