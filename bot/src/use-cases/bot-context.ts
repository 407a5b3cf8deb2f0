/**
 * Everything a use case needs, built once by the composition root (main.ts). Use cases take this
 * and a typed input; adapters (HTTP, Slack) never reach past it into the store.
 */
import type { JoinRequestView, RequestId, Signer } from "@dbward/shared";
import type { BotConfig } from "../config/bot-config.ts";
import type { Clock, Random } from "../core/clock.ts";
import type { OidcVerifier } from "../identity/oidc-verifier.ts";
import type { RateLimits } from "../limits/rate-limits.ts";
import type { ResultStore } from "../results/result-store.ts";
import type { Tx } from "../store/in-transaction.ts";
import type { Store } from "../store/open-store.ts";
import type { JobSignal } from "./job-signal.ts";

export interface BotContext {
  readonly store: Store;
  /** The current config; a reload swaps what this returns. */
  readonly config: () => BotConfig;
  readonly clock: Clock;
  /** When this bot process started (the sweep gives agents one lease margin after it). */
  readonly startedAt: Date;
  readonly random: Random;
  /** Signs execution tokens (the key agents pin); never audit checkpoints. */
  readonly signingKey: Signer<"tokens">;
  /** Signs audit checkpoints; never execution tokens (a key per purpose: signing-config.ts). */
  readonly checkpointSigner: Signer<"checkpoints">;
  readonly jobs: JobSignal;
  /** Where result rows live (files under the data directory by default). */
  readonly results: ResultStore;
  /** Aborted when the bot shuts down: long polls answer at once and touch the store no more. */
  readonly shutdown: AbortSignal;
  /** Verifies bearer JWTs from the configured identity provider; absent, OIDC is refused. */
  readonly oidc?: OidcVerifier;
  /** Called after a join request expired in the sweep (Slack tells the person). */
  readonly afterJoinRequestExpired?: (view: JoinRequestView) => void;
  /**
   * Called inside the transaction of a request's change, with the change `afterCommit` hears of
   * once it commits: what it writes (the Slack outbox) commits with the change or not at all, so
   * a crash between the commit and the delivery loses nothing that should reach a person.
   */
  readonly recordChange: (tx: Tx, change: RequestChange) => Promise<void>;
  /** Called after a request's change has committed (Slack, webhooks listen here). */
  readonly afterCommit: (change: RequestChange) => void;
  /** Flood guards (SECURITY.md: flooding); main.ts always sets them. */
  readonly limits?: RateLimits;
}

export interface RequestChange {
  readonly requestId: RequestId;
  readonly action: string;
  readonly actor: string;
}
