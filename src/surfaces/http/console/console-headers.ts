/**
 * SECURITY: the Content Security Policy of every console answer. Scripts, styles, fonts and fetches come only from
 * the console's own origin; no inline script or style runs (the bundle has none: esbuild writes console.js and
 * console-style.css, and index.html only links them), so an injected `<script>` or `style=""` in the markup is
 * inert. `frame-ancestors 'none'` keeps the console out of frames (click-jacking on "approve"), `form-action 'self'`
 * keeps a tampered form from posting elsewhere, `base-uri 'none'` stops a `<base>` from redirecting relative URLs.
 * Styles set through the CSSOM (`element.style.width = …`, what preact does for `style={{…}}`) are not inline
 * styles and are allowed.
 */
export const CONSOLE_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "font-src 'self'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

/**
 * The security headers on every console answer, errors and static files included. `hsts`: when operators reach the
 * console over HTTPS (`tls` set, or an https `publicUrl` in front).
 */
export function consoleSecurityHeaders(hsts: boolean): Readonly<Record<string, string>> {
  return {
    'content-security-policy': CONSOLE_CSP,
    'x-frame-options': 'DENY',
    'referrer-policy': 'no-referrer',
    'x-content-type-options': 'nosniff',
    'cross-origin-opener-policy': 'same-origin',
    'cross-origin-resource-policy': 'same-origin',
    // Nothing the console uses; denied so a script that got in cannot ask for them either.
    'permissions-policy': 'camera=(), microphone=(), geolocation=(), payment=(), usb=()',
    ...(hsts ? { 'strict-transport-security': 'max-age=31536000' } : {}),
  };
}
