/**
 * Step-up approvals (docs/security-hardening.md "Step-up approvals"): a workflow's `step_up`
 * and the top-level `step_up:` section the sign-in runs by. An approval under step-up counts
 * only after the approver signed in again at the identity provider (an OIDC authorization-code
 * flow with PKCE, `prompt=login` and `max_age`), so one Slack session or one API token is not
 * enough to approve. Step-up needs `oidc:` and this section; a config that asks for step-up
 * without them is refused at load (fail closed: a step-up that cannot happen must not quietly
 * become a plain click).
 */
import { z } from "zod";
import { durationSchema } from "./duration.ts";

/** The risk levels a workflow's step-up may start at (below `low` there is nothing to choose). */
export const STEP_UP_RISKS = ["medium", "high", "critical"] as const;
export type StepUpRisk = (typeof STEP_UP_RISKS)[number];

/**
 * `step_up: oidc` — every approval under the workflow needs a fresh sign-in; or
 * `step_up: { method: oidc, risk_at_least: high }` — only for requests whose SQL risk is at
 * least that (an unknown or unavailable risk counts as critical).
 */
export const workflowStepUpSchema = z.union([
  z.literal("oidc"),
  z.strictObject({ method: z.literal("oidc"), risk_at_least: z.enum(STEP_UP_RISKS) }),
]);
export type WorkflowStepUpConfig = z.infer<typeof workflowStepUpSchema>;

/** The sign-in may be at most this old: `max_age` is sent, and `auth_time` is checked. */
const MAX_MAX_AGE_MS = 3_600_000;
/** A link lives minutes, not hours: it is a bearer of one approval. */
const MAX_LINK_TTL_MS = 30 * 60_000;

export const stepUpSchema = z.strictObject({
  /**
   * The bot's public base URL as approvers' browsers reach it (behind the TLS proxy):
   * links are `<public_url>/step-up/<secret>`, and the provider redirects to
   * `<public_url>/step-up/callback`, which must be registered as a redirect URI of `client_id`.
   */
  public_url: z.url(),
  /** The client the bot signs approvers in as; default: `oidc.client_id`. PKCE, no secret. */
  client_id: z.string().min(1).max(300).optional(),
  /** How old the fresh sign-in may be (`max_age`, and the `auth_time` check); default 5m. */
  max_age: durationSchema.default(300_000),
  /** How long the private link is valid after the click; default 10m. */
  link_ttl: durationSchema.default(600_000),
});
export type StepUpConfig = z.infer<typeof stepUpSchema>;

/** The parts of the whole config these checks read. */
interface StepUpView {
  readonly workflows: readonly { readonly step_up?: WorkflowStepUpConfig | undefined }[];
  readonly oidc?: unknown;
  readonly step_up?: StepUpConfig | undefined;
}

/** Step-up asked for with nothing to step up with is a config error naming the key. */
export function stepUpProblems(c: StepUpView): string[] {
  const problems: string[] = [];
  c.workflows.forEach((w, i) => {
    if (w.step_up === undefined) return;
    if (c.oidc === undefined)
      problems.push(
        `workflows.${i}.step_up: step-up signs approvers in at the identity provider, and no oidc: section is configured; add oidc:, or drop step_up`,
      );
    if (c.step_up === undefined)
      problems.push(
        `workflows.${i}.step_up: needs the step_up: section (at least public_url, the bot's URL as browsers reach it)`,
      );
  });
  if (c.step_up !== undefined) {
    if (c.step_up.max_age > MAX_MAX_AGE_MS)
      problems.push("step_up.max_age: at most 1h: a step-up is a fresh sign-in");
    if (c.step_up.link_ttl > MAX_LINK_TTL_MS)
      problems.push("step_up.link_ttl: at most 30m: the link is a bearer of one approval");
    if (!isSafePublicUrl(c.step_up.public_url))
      problems.push("step_up.public_url: must be https (plain http only on a loopback address)");
  }
  return problems;
}

function isSafePublicUrl(url: string): boolean {
  const u = new URL(url);
  if (u.search !== "" || u.hash !== "") return false;
  if (u.protocol === "https:") return true;
  return u.protocol === "http:" && ["127.0.0.1", "[::1]", "localhost"].includes(u.hostname);
}
