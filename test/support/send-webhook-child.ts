/**
 * Runs sendWebhook in a process of its own for test/webhooks-https.test.ts: Node reads
 * NODE_EXTRA_CA_CERTS only at start, so a test that trusts its own CA needs a fresh process.
 * The Lookup answers from a script and records every name it is asked for, attempt by attempt.
 *
 * Usage: node --import tsx test/support/send-webhook-child.ts '<ChildInput as JSON>'
 * Prints one line of JSON on standard output: a ChildOutput.
 */
import { sendWebhook, type SendOutcome } from "../../bot/src/webhooks/send-webhook.ts";
import type { Lookup } from "../../bot/src/webhooks/ssrf-guard.ts";

export interface ChildInput {
  readonly url: string;
  readonly body: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly allowPrivate: readonly string[];
  /** The Lookup's answer to its first call, second call, …; the last answer repeats. */
  readonly answers: readonly (readonly string[])[];
  /** How many attempts to make, one after another, each a separate sendWebhook call. */
  readonly attempts: number;
}

export interface ChildAttempt {
  readonly outcome: SendOutcome;
  /** Every host name the Lookup was asked to resolve during this attempt, in order. */
  readonly lookups: string[];
}

export interface ChildOutput {
  readonly attempts: ChildAttempt[];
}

const arg = process.argv[2];
if (arg === undefined) {
  process.stderr.write("usage: send-webhook-child.ts '<json>'\n");
  process.exit(2);
}
const input = JSON.parse(arg) as ChildInput;

let calls = 0;
let lookups: string[] = [];
const lookup: Lookup = (hostname) => {
  const answer = input.answers[Math.min(calls, input.answers.length - 1)] ?? [];
  calls++;
  lookups.push(hostname);
  return Promise.resolve(answer.map((address) => ({ address, family: address.includes(":") ? 6 : 4 })));
};

const attempts: ChildAttempt[] = [];
for (let i = 0; i < input.attempts; i++) {
  lookups = [];
  const outcome = await sendWebhook({
    url: input.url,
    body: input.body,
    headers: input.headers,
    timeoutMs: 10_000,
    lookup,
    allowPrivate: input.allowPrivate,
  });
  attempts.push({ outcome, lookups });
}
const output: ChildOutput = { attempts };
process.stdout.write(`${JSON.stringify(output)}\n`);
