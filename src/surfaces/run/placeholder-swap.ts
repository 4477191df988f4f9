import { randomBytes } from 'node:crypto';

// The one part of `cofre run` written by hand (issue 15): finding a run's placeholders in a request the wrapped tool
// sent, and putting the real value in their place. Pure functions over strings and bytes; no I/O.

/**
 * A fresh placeholder for `service`: `cofre-placeholder-<service>-<32 hex digits>`. Recognisable in logs, 128
 * random bits so it never collides with anything a request holds by chance, and only characters that no encoder
 * (URL, JSON, form, header) changes — so it is found in a request exactly as it was put in the environment.
 */
export function newPlaceholder(service: string): string {
  return `cofre-placeholder-${service}-${randomBytes(16).toString('hex')}`;
}

/** True when `text` holds `placeholder`. */
export function holds(text: string, placeholder: string): boolean {
  return text.includes(placeholder);
}

/** `body` with every `placeholder` replaced by `value`'s bytes; `body` itself when it holds none. */
export function swapBytes(body: Buffer, placeholder: string, value: Buffer): Buffer {
  const needle = Buffer.from(placeholder, 'latin1');
  let at = body.indexOf(needle);
  if (at < 0) return body;
  const parts: Buffer[] = [];
  let from = 0;
  while (at >= 0) {
    parts.push(body.subarray(from, at), value);
    from = at + needle.length;
    at = body.indexOf(needle, from);
  }
  parts.push(body.subarray(from));
  return Buffer.concat(parts);
}

/**
 * A header value with `placeholder` swapped for `value`. `Authorization: Basic <base64>` is decoded first: a tool
 * given the placeholder as its password sends it base64-encoded, where it is not visible as text.
 */
export function swapHeader(name: string, headerValue: string, placeholder: string, value: string): string {
  if (name.toLowerCase() === 'authorization' || name.toLowerCase() === 'proxy-authorization') {
    const basic = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(headerValue);
    if (basic?.[1] !== undefined) {
      const decoded = Buffer.from(basic[1], 'base64').toString('utf8');
      if (holds(decoded, placeholder)) {
        return `Basic ${Buffer.from(decoded.replaceAll(placeholder, value), 'utf8').toString('base64')}`;
      }
    }
  }
  return headerValue.replaceAll(placeholder, value);
}

/** True when a header holds `placeholder`, in the clear or inside a Basic credential. */
export function headerHolds(name: string, headerValue: string, placeholder: string): boolean {
  return swapHeader(name, headerValue, placeholder, '') !== headerValue;
}

/** A request target (path and query) with `placeholder` swapped for `value`, URL-encoded. */
export function swapTarget(target: string, placeholder: string, value: string): string {
  return target.replaceAll(placeholder, encodeURIComponent(value));
}
