/**
 * `app_home_opened`: Slack sends it each time someone opens the app, on either tab. The Home tab
 * is drawn then; the Messages tab (where dbward's DMs arrive) needs nothing.
 */
import type { App } from "@slack/bolt";
import type { HomeTabs } from "../home-tabs.ts";

export function registerHome(app: App, home: HomeTabs): void {
  app.event("app_home_opened", async ({ event }) => {
    if (event.tab === "home") await home.opened(event.user);
  });
}
