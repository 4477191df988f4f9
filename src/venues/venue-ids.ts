import { editDistance } from '../config/closest-word.js';

/**
 * The exchange ids ccxt knows, the same table `openVenueAccount` looks a venue up in, so a check that passes here
 * passes there. ccxt is imported only when this is called (it takes about a second to load).
 */
export async function knownVenueIds(): Promise<ReadonlySet<string>> {
  const ccxt = await import('ccxt');
  return new Set(Object.keys(ccxt.exchanges as unknown as Record<string, unknown>));
}

/** Up to three known ids closest to a misspelt one (edit distance at most 3), best first, for a "did you mean". */
export function closestVenueIds(venue: string, known: ReadonlySet<string>): string[] {
  return [...known]
    .map((id) => [id, editDistance(venue.toLowerCase(), id)] as const)
    .filter(([, d]) => d <= 3)
    .sort((a, b) => a[1] - b[1] || a[0].localeCompare(b[0]))
    .slice(0, 3)
    .map(([id]) => id);
}
