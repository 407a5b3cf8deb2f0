/**
 * A person's browser for step-up approvals: fetch with one cookie jar per origin (the bot and the
 * identity provider each see only their own cookies, as a browser keeps them), clicking "Sign in"
 * on the page a link shows first, following redirects by hand so a test can stop before a hop (to replay it, tamper with it, or send it
 * from another browser).
 */

export interface Page {
  readonly status: number;
  readonly url: string;
  readonly text: string;
}

export class StepUpBrowser {
  private readonly jars = new Map<string, Map<string, string>>();

  /** By default the person clicks "Sign in" on the link's page; true stops there. */
  constructor(private readonly stayOnConfirmation = false) {}

  /** GETs `url` and follows redirects; stops before fetching a URL `stopBefore` matches. */
  async open(url: string, stopBefore?: (next: URL) => boolean): Promise<Page | { readonly stoppedAt: URL }> {
    let next = new URL(url);
    for (let hops = 0; hops < 20; hops++) {
      if (hops > 0 && stopBefore?.(next) === true) return { stoppedAt: next };
      const res = await fetch(next, { redirect: "manual", headers: { cookie: this.cookieHeader(next) } });
      this.take(next, res);
      const location = res.headers.get("location");
      if (res.status >= 300 && res.status < 400 && location !== null) {
        await res.body?.cancel();
        next = new URL(location, next);
        continue;
      }
      const text = await res.text();
      // The link's page shows what it approves; the person reads it and clicks "Sign in".
      const signIn = res.status === 200 ? /<a id="sign-in" href="([^"]+)"/.exec(text)?.[1] : undefined;
      if (signIn !== undefined && !this.stayOnConfirmation) {
        next = new URL(signIn.replace(/&amp;/g, "&"), next);
        continue;
      }
      return { status: res.status, url: next.href, text };
    }
    throw new Error("more than 20 redirects");
  }

  /** The same, for a test that expects a page at the end. */
  async page(url: string): Promise<Page> {
    const r = await this.open(url);
    if ("stoppedAt" in r) throw new Error("stopped");
    return r;
  }

  private cookieHeader(url: URL): string {
    return [...(this.jars.get(url.origin) ?? new Map<string, string>())]
      .map(([k, v]) => `${k}=${v}`)
      .join("; ");
  }

  private take(url: URL, res: Response): void {
    const jar = this.jars.get(url.origin) ?? new Map<string, string>();
    this.jars.set(url.origin, jar);
    for (const line of res.headers.getSetCookie()) {
      const [pair = "", ...attrs] = line.split(";");
      const eq = pair.indexOf("=");
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      const expired = attrs.some((a) => {
        const [k = "", v = ""] = a.split("=");
        const key = k.trim().toLowerCase();
        return (key === "expires" && Date.parse(v) <= Date.now()) || (key === "max-age" && Number(v) <= 0);
      });
      if (value === "" || expired) jar.delete(name);
      else jar.set(name, value);
    }
  }
}
