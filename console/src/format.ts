// How the console writes times, amounts and hashes. Amounts arrive as decimal text and are shown as sent; numbers
// are computed only for display (percentages, bar lengths), never sent back.

/** `2026-11-30 21:40:05` in the browser's time zone, with the full ISO time for a title. */
export function formatTime(iso: string | null | undefined): string {
  if (iso === null || iso === undefined) return '—';
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  const pad = (n: number): string => String(n).padStart(2, '0');
  return (
    `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())} ` +
    `${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}`
  );
}

/** `21:40:05` for a time today, else as {@link formatTime}: short enough for a countdown's line. */
export function formatClock(iso: string, now: number = Date.now()): string {
  const full = formatTime(iso);
  return full.slice(0, 10) === formatTime(new Date(now).toISOString()).slice(0, 10) ? full.slice(11) : full;
}

/** `2h 05m`, `4m 09s`, `12s` for a span in milliseconds (negative reads as zero). */
export function formatSpan(ms: number): string {
  const total = Math.max(0, Math.floor(ms / 1000));
  const days = Math.floor(total / 86_400);
  const hours = Math.floor((total % 86_400) / 3600);
  const minutes = Math.floor((total % 3600) / 60);
  const seconds = total % 60;
  const pad = (n: number): string => String(n).padStart(2, '0');
  if (days > 0) return `${days}d ${pad(hours)}h`;
  if (hours > 0) return `${hours}h ${pad(minutes)}m`;
  if (minutes > 0) return `${minutes}m ${pad(seconds)}s`;
  return `${seconds}s`;
}

/** A window length as people say it: `24h`, `7d`, `30m`; `standing` for none. */
export function formatWindow(ms: number | null): string {
  if (ms === null) return 'standing';
  // 24h reads as people write it in the policy; 7d likewise.
  if (ms % 86_400_000 === 0 && ms > 86_400_000) return `${ms / 86_400_000}d`;
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000}h`;
  if (ms % 60_000 === 0) return `${ms / 60_000}m`;
  return `${ms / 1000}s`;
}

/** Decimal text with thousands separators, every digit kept (`12345.678` → `12,345.678`). */
export function formatDecimal(text: string): string {
  const match = /^(-?)(\d+)(\.\d+)?$/.exec(text);
  if (match === null) return text;
  const [, sign = '', whole = '', fraction = ''] = match;
  return `${sign}${whole.replace(/\B(?=(\d{3})+(?!\d))/g, ',')}${fraction}`;
}

/** `+1.25 %` for how far `price` is from `reference`, or undefined when either is missing or zero. */
export function formatDistance(price: string | undefined, reference: string | undefined): string | undefined {
  if (price === undefined || reference === undefined) return undefined;
  const p = Number(price);
  const r = Number(reference);
  if (!Number.isFinite(p) || !Number.isFinite(r) || r === 0) return undefined;
  const percent = ((p - r) / r) * 100;
  return `${percent > 0 ? '+' : percent < 0 ? '−' : '±'}${Math.abs(percent).toFixed(2)} %`;
}

/** `3fa4c2…9b1e` for a long hash; the full value goes in a title or a details element. */
export function shortHash(hash: string): string {
  return hash.length <= 16 ? hash : `${hash.slice(0, 8)}…${hash.slice(-6)}`;
}

/** used / cap as a fraction in 0..1 for a bar (0 when the cap is zero or unreadable). */
export function fractionOf(used: string, cap: string): number {
  const u = Number(used);
  const c = Number(cap);
  if (!Number.isFinite(u) || !Number.isFinite(c) || c <= 0) return u > 0 ? 1 : 0;
  return Math.min(1, Math.max(0, u / c));
}

/**
 * A rule as the broker names it, `policies.trader.rules[1] (large)`, split into its own name and its place in the
 * config; a text without that shape is all name.
 */
export function ruleParts(rule: string): { readonly name: string; readonly path: string | undefined } {
  const match = /^(.*\S) \(([^()]+)\)$/.exec(rule);
  if (match === null) return { name: rule, path: undefined };
  return { name: match[2] ?? rule, path: match[1] };
}
