/**
 * `dbward slack manifest --url …`: the Slack app manifest with the bot's public URL filled in;
 * `--socket-mode`: the manifest for Socket Mode, with no URL at all.
 */
import type { Argv } from "yargs";
import { CliError } from "../cli-error.ts";
import { EXIT } from "../exit-codes.ts";
import type { Output } from "../output.ts";

export function slackCommand(out: Output) {
  return (y: Argv) =>
    y
      .command(
        "manifest",
        "print manifest.yml with the request URL filled in (or for Socket Mode)",
        (c) =>
          c
            .option("url", {
              type: "string",
              describe: "the bot's public base URL, e.g. https://dbward.example.com",
            })
            .option("socket-mode", {
              type: "boolean",
              describe: "Socket Mode: no request URLs; the bot connects out (slack.mode: socket)",
            })
            .conflicts("socket-mode", "url"),
        async (a) => {
          const { renderManifest, renderSocketModeManifest } = await import("@dbward/bot/slack/manifest");
          if (a["socket-mode"] === true) {
            out.print(renderSocketModeManifest());
            return;
          }
          if (a.url === undefined)
            throw new CliError("give --url https://… (HTTP mode) or --socket-mode", EXIT.usage);
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
