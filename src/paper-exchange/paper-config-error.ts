/**
 * A paper exchange started with options that make no sense (a bad price, symbol or host). The paper exchange is a
 * test peer of its own and shares no code with the broker it stands in front of, so it has its own error type
 * rather than cofre's catalogue; `cofre paper` and `cofre demo` report it as a usage error.
 */
export class PaperConfigError extends Error {
  override readonly name = 'PaperConfigError';
}
