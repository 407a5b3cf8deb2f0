/**
 * Doctor's checks of the secrets the bot reads from its environment: the monitoring token, the
 * bootstrap tokens and every webhook's signing secret. Each refusal is the bot's own words (the
 * same parse or assert function where the bot exports one), so what doctor says is what a start
 * would have said. Values are never printed, only the variables that hold them.
 */
import { bootstrapSecretProblem, bootstrapTokenVariables, type BotConfig } from "@dbward/bot";
import { METRICS_TOKEN_ENV, parseMonitoringToken } from "@dbward/bot/http/monitoring-auth";
import { assertWebhookSecrets } from "@dbward/bot/webhooks/webhook-dispatcher";
import { fail, ok, warn, type Check } from "./check.ts";

type Env = Readonly<Record<string, string | undefined>>;

export function checkBotSecrets(config: BotConfig, env: Env): Check[] {
  return [checkMonitoringToken(env), ...checkBootstrapTokens(config, env), checkWebhookSecrets(config, env)];
}

function checkMonitoringToken(env: Env): Check {
  const what = "monitoring token";
  try {
    return parseMonitoringToken(env) === undefined
      ? warn(
          what,
          `${METRICS_TOKEN_ENV} is not set`,
          "set it so Prometheus can read /metrics (docs/operations.md)",
        )
      : ok(what, `${METRICS_TOKEN_ENV} is set`);
  } catch (err) {
    return fail(what, (err as Error).message, `set a longer ${METRICS_TOKEN_ENV}`);
  }
}

/** A bootstrap token taken from the environment must have the shape the bot issues. */
function checkBootstrapTokens(config: BotConfig, env: Env): Check[] {
  return bootstrapTokenVariables(config)
    .filter((w) => (env[w.envName] ?? "") !== "")
    .map((w) => {
      const problem = bootstrapSecretProblem(w, env[w.envName]);
      return problem === undefined
        ? ok("bootstrap token", `${w.envName} is well formed`)
        : fail(
            "bootstrap token",
            problem,
            `unset ${w.envName} (the bot then generates one and prints it once), or give it a value of that shape`,
          );
    });
}

function checkWebhookSecrets(config: BotConfig, env: Env): Check {
  const what = "webhook secrets";
  const count = config.webhooks.length;
  if (count === 0) return ok(what, "no webhooks configured");
  try {
    assertWebhookSecrets(config, env);
    return ok(what, `${count} webhook${count === 1 ? "" : "s"}, each secret_env set (32+ characters)`);
  } catch (err) {
    return fail(
      what,
      (err as Error).message,
      "set each variable named above to a random value of 32+ characters, the one the receiver checks signatures with (docs/webhooks.md)",
    );
  }
}
