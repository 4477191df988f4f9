/** The console's session cookie (issue 18 contract). */
export const SESSION_COOKIE = 'cofre_console';

/** The value of the session cookie in a `Cookie` header; undefined when absent. The first one wins. */
export function sessionCookieOf(cookieHeader: string | undefined): string | undefined {
  if (cookieHeader === undefined) return undefined;
  for (const part of cookieHeader.split(';')) {
    const eq = part.indexOf('=');
    if (eq === -1) continue;
    if (part.slice(0, eq).trim() === SESSION_COOKIE) return part.slice(eq + 1).trim();
  }
  return undefined;
}

/**
 * The `Set-Cookie` value of a new session. SECURITY: `HttpOnly` (no script reads it, so an injected script cannot
 * steal the session), `SameSite=Strict` (no other site's page makes the browser send it), `Path=/`, `Secure` when
 * operators reach the console over HTTPS. No `Max-Age`: a browser session cookie, gone when the browser closes; the
 * server ends the session at its idle timeout or lifetime anyway.
 */
export function sessionCookie(id: string, secure: boolean): string {
  return `${SESSION_COOKIE}=${id}; Path=/; HttpOnly; SameSite=Strict${secure ? '; Secure' : ''}`;
}

/** The `Set-Cookie` value that removes the session cookie (logout, ended session). */
export function clearedSessionCookie(secure: boolean): string {
  return `${SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0${secure ? '; Secure' : ''}`;
}
