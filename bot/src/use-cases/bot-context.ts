/**
 * Everything a use case needs, built once by the composition root (main.ts). Use cases take this
 * and a typed input; adapters (HTTP, Slack) never reach past it into the store.
 */
import type { RequestId, SigningKey } from "@dbward/shared";
import type { BotConfig } from "../config/bot-config.ts";
import type { Clock, Random } from "../core/clock.ts";
import type { Store } from "../store/open-store.ts";
import type { JobSignal } from "./job-signal.ts";

export interface BotContext {
  readonly store: Store;
  /** The current config; a reload swaps what this returns. */
  readonly config: () => BotConfig;
  readonly clock: Clock;
  readonly random: Random;
  readonly signingKey: SigningKey;
  readonly jobs: JobSignal;
  /** Aborted when the bot shuts down: long polls answer at once and touch the store no more. */
  readonly shutdown: AbortSignal;
  /** Called after a request's change has committed (Slack, webhooks listen here). */
  readonly afterCommit: (change: RequestChange) => void;
}

export interface RequestChange {
  readonly requestId: RequestId;
  readonly action: string;
  readonly actor: string;
}
