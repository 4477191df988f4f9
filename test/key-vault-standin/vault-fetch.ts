/** One plain-fetch request to the stand-in's vault with a bearer token, for the tests that check the wire itself. */

/** An answer: status, the JSON body (`{}` when empty) and the headers. */
export interface VaultAnswer<Body = Record<string, unknown>> {
  readonly status: number;
  readonly body: Body;
  readonly headers: Headers;
}

/** Sends `body` as JSON (if any) to `url` with `Authorization: Bearer <token>`. */
export async function vaultFetch<Body = Record<string, unknown>>(
  url: string | URL,
  method: string,
  token: string,
  body?: unknown,
): Promise<VaultAnswer<Body>> {
  const res = await fetch(url, {
    method,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  return { status: res.status, body: (text === '' ? {} : JSON.parse(text)) as Body, headers: res.headers };
}
