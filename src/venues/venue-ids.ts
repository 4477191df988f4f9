import { editDistance } from '../config/closest-word.js';
import { ccxtExchangeIds } from './ccxt-modules.js';

/**
 * The exchange ids ccxt knows, the same list `openVenueAccount` looks a venue up in, so a check that passes here
 * passes there. Loads no exchange class (see `ccxt-modules.ts`): only ccxt's directory is read.
 */
export function knownVenueIds(): Promise<ReadonlySet<string>> {
  return ccxtExchangeIds();
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
