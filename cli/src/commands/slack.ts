/** `dbward slack manifest --url …`: the Slack app manifest with the bot's public URL filled in. */
import { renderManifest } from "@dbward/bot/slack/manifest";
import type { Argv } from "yargs";
import { CliError } from "../cli-error.ts";
import { EXIT } from "../exit-codes.ts";
import type { Output } from "../output.ts";

export function slackCommand(out: Output) {
  return (y: Argv) =>
    y
      .command(
        "manifest",
        "print manifest.yml with the request URL filled in",
        (c) =>
          c.option("url", {
            type: "string",
            demandOption: true,
            describe: "the bot's public base URL, e.g. https://dbward.example.com",
          }),
        (a) => {
          let url: URL;
          try {
            url = new URL(a.url);
          } catch {
            throw new CliError(`not a URL: ${a.url}`, EXIT.usage);
          }
          if (url.protocol !== "https:")
            throw new CliError("Slack only calls https:// URLs; put the bot behind TLS", EXIT.usage);
          out.print(renderManifest(url.origin + url.pathname.replace(/\/+$/, "")));
        },
      )
      .demandCommand(1, "name a slack subcommand");
}
