/**
 * The errors the paper exchange answers with, in Binance's wire form: `{ "code": -1022, "msg": "…" }` plus an HTTP
 * status.
 *
 * Why not {@link CofreError}: these are not cofre's errors. They are what a Binance server sends, reproduced so that
 * ccxt and cofre's venue code meet the same codes in tests as in production. They are thrown inside this folder and
 * turned into HTTP responses in exactly one place (`paper-exchange.ts`); nothing outside the folder sees them.
 *
 * Codes and messages follow Binance's "Error codes for Binance" (errors.md in binance/binance-spot-api-docs, last
 * updated 2025-01-09): https://github.com/binance/binance-spot-api-docs/blob/master/errors.md
 */

/** One Binance error response. */
export class BinanceApiError extends Error {
  override readonly name = 'BinanceApiError';
  readonly code: number;
  readonly httpStatus: number;

  constructor(code: number, msg: string, httpStatus = 400) {
    super(msg);
    this.code = code;
    this.httpStatus = httpStatus;
  }

  /** The JSON body Binance sends. */
  toWire(): { code: number; msg: string } {
    return { code: this.code, msg: this.message };
  }
}

/** The legal range Binance quotes for DECIMAL parameters. */
export const DECIMAL_RANGE = '^([0-9]{1,20})(\\.[0-9]{1,20})?$';
/** The legal range Binance quotes for LONG parameters. */
export const LONG_RANGE = '^[0-9]{1,20}$';
/** The legal range Binance quotes for `symbol`. */
export const SYMBOL_RANGE = '^[A-Z0-9-_.]{1,20}$';
/** The legal range Binance quotes for client order ids. */
export const CLIENT_ORDER_ID_RANGE = '^[\\.A-Z\\:/a-z0-9_-]{1,36}$';

/** Constructors for the errors the paper exchange uses, named after Binance's error names. */
export const binanceErrors = {
  /** -1021 INVALID_TIMESTAMP, the recvWindow variant. */
  timestampOutsideRecvWindow: () =>
    new BinanceApiError(-1021, 'Timestamp for this request is outside of the recvWindow.'),
  /** -1021 INVALID_TIMESTAMP, the "ahead of server time" variant. */
  timestampAhead: () =>
    new BinanceApiError(-1021, "Timestamp for this request was 1000ms ahead of the server's time."),
  /** -1022 INVALID_SIGNATURE. */
  invalidSignature: () => new BinanceApiError(-1022, 'Signature for this request is not valid.'),
  /** -1100 ILLEGAL_CHARS. */
  illegalChars: (param: string, range: string) =>
    new BinanceApiError(
      -1100,
      `Illegal characters found in parameter '${param}'; legal range is '${range}'.`,
    ),
  /** -1101 TOO_MANY_PARAMETERS, for a parameter sent twice in the same place. */
  duplicateParameter: () => new BinanceApiError(-1101, 'Duplicate values for a parameter detected.'),
  /** -1101 TOO_MANY_PARAMETERS, for a body too large to be a parameter list. */
  tooManyParameters: () => new BinanceApiError(-1101, 'Too many parameters sent for this endpoint.'),
  /** -1102 MANDATORY_PARAM_EMPTY_OR_MALFORMED. */
  mandatory: (param: string) =>
    new BinanceApiError(-1102, `Mandatory parameter '${param}' was not sent, was empty/null, or malformed.`),
  /** -1102, when one of two parameters is required. */
  mandatoryEither: (a: string, b: string) =>
    new BinanceApiError(-1102, `Param '${a}' or '${b}' must be sent, but both were empty/null!`),
  /** -1102, for a value above its maximum. */
  greaterThan: (param: string, max: string) =>
    new BinanceApiError(-1102, `'${param}' contains unexpected value. Cannot be greater than '${max}'.`),
  /** -1106 PARAM_NOT_REQUIRED. */
  notRequired: (param: string) => new BinanceApiError(-1106, `Parameter '${param}' sent when not required.`),
  /** -1128 OPTIONAL_PARAMS_BAD_COMBO (e.g. `symbol` and `symbols` together). */
  badParamCombination: () => new BinanceApiError(-1128, 'Combination of optional parameters invalid.'),
  /** -1111 BAD_PRECISION. */
  tooMuchPrecision: (param: string) =>
    new BinanceApiError(-1111, `Parameter '${param}' has too much precision.`),
  /** -1115 INVALID_TIF. */
  invalidTimeInForce: () => new BinanceApiError(-1115, 'Invalid timeInForce.'),
  /** -1116 INVALID_ORDER_TYPE. */
  invalidOrderType: () => new BinanceApiError(-1116, 'Invalid orderType.'),
  /** -1117 INVALID_SIDE. */
  invalidSide: () => new BinanceApiError(-1117, 'Invalid side.'),
  /** -1121 BAD_SYMBOL. */
  invalidSymbol: () => new BinanceApiError(-1121, 'Invalid symbol.'),
  /** -1130 INVALID_PARAMETER. */
  invalidParameter: (param: string) =>
    new BinanceApiError(-1130, `Data sent for parameter '${param}' is not valid.`),
  /** -1013 INVALID_MESSAGE with a filter failure message (errors.md, "Filter failures"). */
  filterFailure: (filter: string) => new BinanceApiError(-1013, `Filter failure: ${filter}`),
  /** -1020 UNSUPPORTED_OPERATION, sent with HTTP 404 for an endpoint the paper exchange does not serve. */
  unsupported: () => new BinanceApiError(-1020, 'This operation is not supported.', 404),
  /** -1000 UNKNOWN, for a fault inside the paper exchange (HTTP 500). */
  unknown: () => new BinanceApiError(-1000, 'An unknown error occurred while processing the request.', 500),
  /** -2010 NEW_ORDER_REJECTED with a matching-engine message (errors.md, "Messages for -1010, -2010, -2011"). */
  newOrderRejected: (msg: string) => new BinanceApiError(-2010, msg),
  /** -2011 CANCEL_REJECTED: the order is unknown or no longer open. */
  cancelRejected: () => new BinanceApiError(-2011, 'Unknown order sent.'),
  /** -2013 NO_SUCH_ORDER. */
  noSuchOrder: () => new BinanceApiError(-2013, 'Order does not exist.'),
  /** -4026, the wallet endpoints' "insufficient balance" (sapi codes: errors.md does not list them; ccxt maps -4026). */
  insufficientBalance: () => new BinanceApiError(-4026, 'You have insufficient balance.'),
  /** -2014 BAD_API_KEY_FMT (HTTP 401, as Binance sends it). */
  apiKeyFormat: () => new BinanceApiError(-2014, 'API-key format invalid.', 401),
  /** -2015 REJECTED_MBX_KEY (HTTP 401, as Binance sends it). */
  rejectedApiKey: () => new BinanceApiError(-2015, 'Invalid API-key, IP, or permissions for action.', 401),
} as const;

/** Matching-engine messages used with -2010 (errors.md). */
export const REJECT_MESSAGES = {
  insufficientBalance: 'Account has insufficient balance for requested action.',
  duplicateOrder: 'Duplicate order sent.',
  marketClosed: 'Market is closed.',
  wouldMatch: 'Order would immediately match and take.',
} as const;
