/**
 * Plays the person's browser in the device authorization grant (RFC 8628 §3.3): open the
 * verification page with the user code, confirm it, and follow the provider's redirects through
 * its sign-in and consent interactions to the success page. Only fetch and a cookie jar: what a
 * browser on another machine would do while the CLI waits over SSH.
 */

/** The provider's session cookies, by name; cookie paths are ignored (one provider, one test). */
class CookieJar {
  private readonly cookies = new Map<string, string>();

  take(res: Response): void {
    for (const line of res.headers.getSetCookie()) {
      const [pair = "", ...attrs] = line.split(";");
      const eq = pair.indexOf("=");
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      const expired = attrs.some((a) => {
        const [k = "", v = ""] = a.split("=");
        return k.trim().toLowerCase() === "expires" && Date.parse(v) <= Date.now();
      });
      if (value === "" || expired) this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
  }

  header(): string {
    return [...this.cookies].map(([k, v]) => `${k}=${v}`).join("; ");
  }
}

function hiddenInput(html: string, name: string): string {
  const m = new RegExp(`name="${name}" value="([^"]*)"`).exec(html);
  if (m?.[1] === undefined)
    throw new Error(`no ${name} field in the provider's page:\n${html.slice(0, 500)}`);
  return m[1];
}

/**
 * Approves `userCode` at `issuer`; the provider's interaction handler decides who signs in.
 * Resolves with the final page's text.
 */
export async function approveDeviceCode(issuer: string, userCode: string): Promise<string> {
  const jar = new CookieJar();
  const go = async (url: string, form?: Record<string, string>): Promise<Response> => {
    let res = await fetch(new URL(url, issuer), {
      method: form === undefined ? "GET" : "POST",
      redirect: "manual",
      headers: {
        cookie: jar.header(),
        ...(form !== undefined ? { "content-type": "application/x-www-form-urlencoded" } : {}),
      },
      ...(form !== undefined ? { body: new URLSearchParams(form).toString() } : {}),
    });
    jar.take(res);
    for (let hops = 0; res.status >= 300 && res.status < 400; hops++) {
      if (hops > 10) throw new Error("the provider redirected more than 10 times");
      const location = res.headers.get("location");
      if (location === null) throw new Error(`redirect ${res.status} without a location`);
      await res.body?.cancel();
      res = await fetch(new URL(location, issuer), { redirect: "manual", headers: { cookie: jar.header() } });
      jar.take(res);
    }
    return res;
  };
  // The verification_uri_complete page: an auto-submitting form carrying the code.
  const start = await (await go(`/device?user_code=${encodeURIComponent(userCode)}`)).text();
  const confirm = await (
    await go("/device", { xsrf: hiddenInput(start, "xsrf"), user_code: userCode })
  ).text();
  const done = await go("/device", {
    xsrf: hiddenInput(confirm, "xsrf"),
    user_code: hiddenInput(confirm, "user_code"),
    confirm: "yes",
  });
  const text = await done.text();
  if (done.status !== 200)
    throw new Error(`device approval ended with HTTP ${done.status}: ${text.slice(0, 300)}`);
  return text;
}
