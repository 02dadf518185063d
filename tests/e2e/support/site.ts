// A real Frappe site for the checks that need one (not in CI): its login.

/** A new session of the user (Administrator unless VA_SITE_USER / VA_SITE_PASSWORD or `as` say otherwise): its sid. */
export async function siteLogin(apiUrl: string, as?: { user: string; password: string }): Promise<string> {
  const res = await fetch(`${apiUrl}/api/method/login`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(as ? { usr: as.user, pwd: as.password } : { usr: process.env.VA_SITE_USER ?? "Administrator", pwd: process.env.VA_SITE_PASSWORD ?? "admin" }),
  });
  const sid = /sid=([^;]+)/.exec(res.headers.get("set-cookie") ?? "")?.[1];
  if (!res.ok || !sid) throw new Error(`login to ${apiUrl} failed: ${res.status}`);
  return sid;
}
