const DAY_MS = 86_400_000;

/** Whole days from `from` to `to` (rounded down; 0 when `to` is earlier). */
export function daysBetween(from: Date, to: Date): number {
  return Math.max(0, Math.floor((to.getTime() - from.getTime()) / DAY_MS));
}
