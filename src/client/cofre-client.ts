import { ACTION_NAMES, actionInputSchemas } from '../broker/actions.js';
import type { ActionInput, ActionName, ActionResponse, ActionResult, MethodName } from './action-types.js';
import {
  type AgentCredential,
  exchangedCredential,
  fixedCredential,
  subjectTokenFromFile,
  type SubjectTokenSource,
} from './agent-credential.js';
import { checkAgentToken, readAgentTokenFile } from './agent-token.js';
import { CofreClientError, CofreRequestError } from './client-errors.js';
import { actionResponseOf, exchange, type HttpAnswer } from './http-exchange.js';
import { settle } from './settle-response.js';
import { type WaitOptions, waitUntilDecided } from './wait-for-request.js';

/**
 * Where cofre is and how the agent proves who it is: a token in code, or a file that holds it (mode 600); or, with
 * no cofre token at all, the workload's own identity token (a Kubernetes projected service-account token, a GitHub
 * Actions OIDC token), exchanged at cofre's `POST /v1/token` for short-lived tokens the client renews by itself.
 */
export type CofreClientOptions = {
  /** The cofre server, e.g. `http://127.0.0.1:8787` (what `cofre serve` or `cofre demo` prints). */
  readonly baseUrl: string | URL;
  /**
   * Check every input with cofre's own zod schemas before sending it (default true): the same messages as the
   * server, without a round trip. The server checks again either way; it is the authority.
   */
  readonly validate?: boolean;
  /**
   * Allow plain `http:` to a host that is not loopback (default false). SECURITY: the bearer token would cross the
   * network in clear text; put TLS in front of cofre instead.
   */
  readonly allowInsecureHttp?: boolean;
} & (
  | {
      readonly token: string;
      readonly tokenFile?: never;
      readonly subjectToken?: never;
      readonly subjectTokenFile?: never;
    }
  | {
      readonly tokenFile: string;
      readonly token?: never;
      readonly subjectToken?: never;
      readonly subjectTokenFile?: never;
    }
  | {
      /**
       * Returns the workload's current identity token (a JWT whose issuer cofre's `agents.exchange` trusts), called
       * for every exchange: before the first call, shortly before each cofre token expires, and after a 401.
       */
      readonly subjectToken: SubjectTokenSource;
      readonly token?: never;
      readonly tokenFile?: never;
      readonly subjectTokenFile?: never;
    }
  | {
      /**
       * A file holding the workload's identity token, read again for every exchange (the kubelet rewrites a
       * projected service-account token before it expires), e.g.
       * `/var/run/secrets/tokens/cofre-token`.
       */
      readonly subjectTokenFile: string;
      readonly token?: never;
      readonly tokenFile?: never;
      readonly subjectToken?: never;
    }
);

/** Options of one call. */
export interface CallOptions {
  /** Aborts the HTTP request (the action may still have reached cofre; its idempotency key makes a retry safe). */
  readonly signal?: AbortSignal;
}

/** Options of a typed action method. */
export interface MethodOptions extends CallOptions {
  /**
   * When the action waits for an operator, wait for the decision (polling `GET /v1/requests/<id>`) instead of
   * throwing `CofrePendingApprovalError`. `true` waits with the defaults of `waitForRequest`.
   */
  readonly waitForApproval?: boolean | Omit<WaitOptions, 'signal'>;
}

/** Every action has a method: adding an action to the server without one here fails to compile. */
type ActionMethods = { readonly [A in ActionName as MethodName<A>]: (...args: never[]) => Promise<unknown> };

const LOOPBACK = new Set(['localhost', '127.0.0.1', '[::1]']);

/**
 * Creates a client for one agent. With `tokenFile`, the file is read once, now, by the server's rules (a file others
 * can read is refused). With `subjectToken` or `subjectTokenFile`, the first exchange happens on the first call.
 * Nothing is sent until the first call.
 */
export async function createCofreClient(options: CofreClientOptions): Promise<CofreClient> {
  const base = baseUrlOf(options);
  const credential =
    options.subjectToken !== undefined
      ? exchangedCredential(base, options.subjectToken)
      : options.subjectTokenFile !== undefined
        ? exchangedCredential(base, subjectTokenFromFile(options.subjectTokenFile))
        : fixedCredential(
            options.tokenFile === undefined
              ? checkAgentToken(options.token, 'options.token')
              : await readAgentTokenFile(options.tokenFile),
          );
  return new CofreClient(base, credential, { validate: options.validate ?? true });
}

function baseUrlOf(options: CofreClientOptions): URL {
  let url: URL;
  try {
    url = new URL(options.baseUrl);
  } catch {
    throw new CofreClientError(
      'COFRE_INPUT_INVALID',
      'baseUrl is not a URL; give e.g. http://127.0.0.1:8787',
    );
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new CofreClientError('COFRE_INPUT_INVALID', `baseUrl must be http: or https:, not ${url.protocol}`);
  }
  if (url.username !== '' || url.password !== '') {
    throw new CofreClientError(
      'COFRE_INPUT_INVALID',
      'baseUrl must not hold a user or password; give the token apart',
    );
  }
  if (url.protocol === 'http:' && !LOOPBACK.has(url.hostname) && options.allowInsecureHttp !== true) {
    throw new CofreClientError(
      'COFRE_INPUT_INVALID',
      `baseUrl ${url.origin} is plain http to another host: the token would cross the network in clear text; use https (or allowInsecureHttp: true)`,
    );
  }
  if (!url.pathname.endsWith('/')) url.pathname += '/';
  return url;
}

/**
 * A typed client of one cofre server for one agent: a method per action (`getBalance`, `placeOrder`, ...) that
 * returns the result when the action was executed and throws otherwise (`CofreDeniedError`,
 * `CofrePendingApprovalError`, `CofreRequestError`), and `call` for the raw answer. Safe to use concurrently.
 *
 * SECURITY: the token lives in a private field; `util.inspect`, `JSON.stringify` and errors never show it.
 */
export class CofreClient implements ActionMethods {
  readonly baseUrl: string;
  readonly #base: URL;
  readonly #credential: AgentCredential;
  readonly #validate: boolean;

  /** Use {@link createCofreClient}, which checks the URL and the token. */
  constructor(base: URL, credential: AgentCredential | string, options: { validate: boolean }) {
    this.#base = base;
    this.#credential = typeof credential === 'string' ? fixedCredential(credential) : credential;
    this.#validate = options.validate;
    this.baseUrl = base.href;
  }

  /**
   * One authenticated request to cofre. A 401 gets one retry with a renewed token when the credential can renew
   * (an exchanged token expired or was revoked): cofre authenticates before it reads a body, so the first attempt
   * ran nothing.
   */
  async #send(
    url: URL,
    init: { method: 'GET' | 'POST'; body?: unknown; signal?: AbortSignal | undefined },
  ): Promise<HttpAnswer> {
    const token = await this.#credential.token(init.signal);
    const answer = await exchange(url, token, init);
    if (answer.status !== 401) return answer;
    const renewed = await this.#credential.renew(token, init.signal);
    return renewed === undefined ? answer : exchange(url, renewed, init);
  }

  /**
   * Asks for an action and returns cofre's answer as it is, whatever its status (`executed`, `denied`,
   * `pending_approval`, `failed`). Throws `CofreRequestError` only when there is no action answer: bad input
   * (`COFRE_INPUT_INVALID`, before sending when validation is on), 401, 429 (with `retryAfterMs`), 503, no answer.
   */
  async call<A extends ActionName>(
    action: A,
    input: ActionInput<A>,
    options: CallOptions = {},
  ): Promise<ActionResponse<A>> {
    if (!Object.hasOwn(actionInputSchemas, action)) {
      throw new CofreRequestError(
        'COFRE_ACTION_UNKNOWN',
        'unknown action; the actions are listed in GET /v1/openapi.json',
      );
    }
    if (this.#validate) checkInput(action, input);
    const answer = await this.#send(new URL(`v1/actions/${action}`, this.#base), {
      method: 'POST',
      body: input,
      signal: options.signal,
    });
    return actionResponseOf(answer);
  }

  /**
   * Waits until a request is no longer waiting for approval, polling `GET /v1/requests/<id>`, and returns its final
   * answer (`executed`, `denied` when an operator refused, or `failed`, e.g. the approval expired). A 429 while
   * polling waits as long as cofre asks. Throws `CofreApprovalTimeoutError` (`COFRE_CLIENT_APPROVAL_TIMEOUT`, a `CofrePendingApprovalError`) when `timeoutMs` runs out first.
   */
  async waitForRequest(requestId: string, options: WaitOptions = {}): Promise<ActionResponse> {
    if (this.#validate) checkInput('get_request', { requestId });
    const url = new URL(`v1/requests/${encodeURIComponent(requestId)}`, this.#base);
    return waitUntilDecided(
      requestId,
      async () => actionResponseOf(await this.#send(url, { method: 'GET', signal: options.signal })),
      options,
    );
  }

  /** The actions this agent's policy can allow, from its own `GET /v1/openapi.json` (what its tools should be). */
  async listActions(options: CallOptions = {}): Promise<ActionName[]> {
    const answer = await this.#send(new URL('v1/openapi.json', this.#base), {
      method: 'GET',
      signal: options.signal,
    });
    const paths = (answer.body as { paths?: unknown } | null)?.paths;
    if (answer.status !== 200 || typeof paths !== 'object' || paths === null) actionResponseOf(answer);
    return ACTION_NAMES.filter((name) => Object.hasOwn(paths as object, `/v1/actions/${name}`));
  }

  async #run<A extends ActionName>(
    action: A,
    input: ActionInput<A>,
    options: MethodOptions,
  ): Promise<ActionResult<A>> {
    const response = await this.call(action, input, options);
    if (
      response.status !== 'pending_approval' ||
      options.waitForApproval === undefined ||
      options.waitForApproval === false
    ) {
      return settle(response);
    }
    const wait = options.waitForApproval === true ? {} : options.waitForApproval;
    return settle(
      (await this.waitForRequest(response.requestId, { ...wait, ...pick(options) })) as ActionResponse<A>,
    );
  }

  /** Lists the trading accounts this agent may use. */
  listAccounts(
    input: ActionInput<'list_accounts'> = {},
    options: MethodOptions = {},
  ): Promise<ActionResult<'list_accounts'>> {
    return this.#run('list_accounts', input, options);
  }
  /** Every limit that applies to this agent, with what is used and what remains. */
  getLimits(
    input: ActionInput<'get_limits'> = {},
    options: MethodOptions = {},
  ): Promise<ActionResult<'get_limits'>> {
    return this.#run('get_limits', input, options);
  }
  /** The balance of an account, per asset. */
  getBalance(
    input: ActionInput<'get_balance'>,
    options: MethodOptions = {},
  ): Promise<ActionResult<'get_balance'>> {
    return this.#run('get_balance', input, options);
  }
  /** The latest price of a market. */
  getTicker(
    input: ActionInput<'get_ticker'>,
    options: MethodOptions = {},
  ): Promise<ActionResult<'get_ticker'>> {
    return this.#run('get_ticker', input, options);
  }
  /** The open orders of an account, optionally of one market. */
  getOpenOrders(
    input: ActionInput<'get_open_orders'>,
    options: MethodOptions = {},
  ): Promise<ActionResult<'get_open_orders'>> {
    return this.#run('get_open_orders', input, options);
  }
  /** One order, by the exchange's `orderId` or your `clientOrderId`. */
  getOrder(input: ActionInput<'get_order'>, options: MethodOptions = {}): Promise<ActionResult<'get_order'>> {
    return this.#run('get_order', input, options);
  }
  /** An order as it would be sent, its value and the decision `placeOrder` would get; nothing is placed. */
  previewOrder(
    input: ActionInput<'preview_order'>,
    options: MethodOptions = {},
  ): Promise<ActionResult<'preview_order'>> {
    return this.#run('preview_order', input, options);
  }
  /** Places an order; `clientOrderId` makes it idempotent (a repeat returns the first answer, `replayed`). */
  placeOrder(
    input: ActionInput<'place_order'>,
    options: MethodOptions = {},
  ): Promise<ActionResult<'place_order'>> {
    return this.#run('place_order', input, options);
  }
  /** Cancels an open order by `orderId` or `clientOrderId`. */
  cancelOrder(
    input: ActionInput<'cancel_order'>,
    options: MethodOptions = {},
  ): Promise<ActionResult<'cancel_order'>> {
    return this.#run('cancel_order', input, options);
  }
  /** Cancels every open order of an account, or of one market. */
  cancelAllOrders(
    input: ActionInput<'cancel_all_orders'>,
    options: MethodOptions = {},
  ): Promise<ActionResult<'cancel_all_orders'>> {
    return this.#run('cancel_all_orders', input, options);
  }
  /** Withdraws to an address-book label; `clientWithdrawId` makes it idempotent. Usually waits for approval. */
  withdraw(input: ActionInput<'withdraw'>, options: MethodOptions = {}): Promise<ActionResult<'withdraw'>> {
    return this.#run('withdraw', input, options);
  }
  /**
   * Calls an HTTP API the operator configured as a service; cofre injects its credential. Redirects come back as
   * they are; requests other than GET and HEAD are not retried.
   */
  httpRequest(
    input: ActionInput<'http_request'>,
    options: MethodOptions = {},
  ): Promise<ActionResult<'http_request'>> {
    return this.#run('http_request', input, options);
  }
  /** Issue 19: a wallet's chain, address and balances. */
  getWallet(
    input: ActionInput<'get_wallet'>,
    options: MethodOptions = {},
  ): Promise<ActionResult<'get_wallet'>> {
    return this.#run('get_wallet', input, options);
  }
  /** Decodes, simulates and judges a transaction without signing it. */
  previewTransaction(
    input: ActionInput<'preview_transaction'>,
    options: MethodOptions = {},
  ): Promise<ActionResult<'preview_transaction'>> {
    return this.#run('preview_transaction', input, options);
  }
  /** Sends a transaction to a label or a known contract function; `clientTxId` makes it idempotent. */
  sendTransaction(
    input: ActionInput<'send_transaction'>,
    options: MethodOptions = {},
  ): Promise<ActionResult<'send_transaction'>> {
    return this.#run('send_transaction', input, options);
  }
  /** Signs known EIP-712 typed data (Permit, Permit2), judged as the approval it grants. */
  signTypedData(
    input: ActionInput<'sign_typed_data'>,
    options: MethodOptions = {},
  ): Promise<ActionResult<'sign_typed_data'>> {
    return this.#run('sign_typed_data', input, options);
  }
  /** Encrypts the agent's own data under a configured key, bound to the agent and `purpose`. */
  encrypt(input: ActionInput<'encrypt'>, options: MethodOptions = {}): Promise<ActionResult<'encrypt'>> {
    return this.#run('encrypt', input, options);
  }
  /** Decrypts what `encrypt` or `generateDataKey` gave this agent, with the same key and purpose. */
  decrypt(input: ActionInput<'decrypt'>, options: MethodOptions = {}): Promise<ActionResult<'decrypt'>> {
    return this.#run('decrypt', input, options);
  }
  /** A fresh data key for envelope encryption: in plaintext and encrypted under `key`. */
  generateDataKey(
    input: ActionInput<'generate_data_key'>,
    options: MethodOptions = {},
  ): Promise<ActionResult<'generate_data_key'>> {
    return this.#run('generate_data_key', input, options);
  }
  /**
   * The stored answer of an earlier request of this agent, whatever its status: returned as it is, never thrown
   * (a `denied` stored answer is information about that request, not a failure of this one).
   */
  async getRequest(input: ActionInput<'get_request'>, options: CallOptions = {}): Promise<ActionResponse> {
    return this.call('get_request', input, options);
  }

  /** SECURITY: what `JSON.stringify` shows: no token. */
  toJSON(): { baseUrl: string } {
    return { baseUrl: this.baseUrl };
  }
  /** SECURITY: what `util.inspect` and `console.log` show: no token. */
  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return `CofreClient { baseUrl: '${this.baseUrl}', token: [REDACTED] }`;
  }

  /**
   * Issue 17: mints a narrower token for a sub-agent (`POST /v1/tokens/delegate`), whose rights are a subset of
   * this agent's: absent lists inherit, empty lists mean none, limits draw on this agent's budget too, the lifetime
   * never beyond this token's. Give the sub-agent `token` (e.g. `createCofreClient({ baseUrl, token })`); it is
   * shown only here. Throws `CofreRequestError` with `COFRE_DELEGATION_REFUSED` naming each right asked for beyond
   * this agent's, `COFRE_INPUT_INVALID` for a malformed request.
   */
  async delegate(input: DelegationRequest, options: CallOptions = {}): Promise<Delegation> {
    const answer = await this.#send(new URL('v1/tokens/delegate', this.#base), {
      method: 'POST',
      body: input,
      signal: options.signal,
    });
    const body = answer.body as Partial<Delegation> | null;
    if (answer.status === 201 && typeof body?.token === 'string' && typeof body.agent === 'string') {
      return body as Delegation;
    }
    actionResponseOf(answer); // throws cofre's error
    throw new CofreRequestError(
      'COFRE_CLIENT_RESPONSE_INVALID',
      `unexpected answer ${answer.status} from cofre`,
      {
        httpStatus: answer.status,
      },
    );
  }
}

/** The rights a delegation narrows: absent, as much as the parent; `[]`, none. */
interface DelegatedRights<Limit> {
  readonly accounts?: readonly string[];
  readonly actions?: readonly ActionName[];
  /** Markets, e.g. `BTC/USDT`. */
  readonly symbols?: readonly string[];
  /** Budgets of its own, on top of the parent's: at most `cap` per rolling window. */
  readonly limits?: readonly ({
    readonly measure: 'notional' | 'orders' | 'withdrawals';
    /** The quote asset for notional, the asset for withdrawals; none for orders. */
    readonly unit?: string;
    readonly cap: string;
  } & Limit)[];
}

/** What a sub-agent's token may do (`CofreClient.delegate`). */
export interface DelegationRequest extends DelegatedRights<{ readonly window: string }> {
  /** The sub-agent's name (lowercase letters, digits, `-`, `_`); its agent id becomes `<parent id>/<name>`. */
  readonly name: string;
  /** Lifetime, e.g. `15m`; default the longest allowed. */
  readonly ttl?: string;
}

/** A minted sub-agent token and what it may do. */
export interface Delegation {
  /** SECURITY: the sub-agent's bearer token; shown once, never logged by cofre. */
  readonly token: string;
  readonly agent: string;
  readonly expiresAt: string;
  /** As asked for, with each window in ms and the child token's public id. */
  readonly grant: DelegatedRights<{ readonly windowMs: number }> & { readonly tokenId: string };
  /** Who it acts for, nearest first. */
  readonly onBehalfOf: readonly string[];
}

function pick(options: CallOptions): CallOptions {
  return options.signal === undefined ? {} : { signal: options.signal };
}

/** Client-side validation, worded exactly as the server words it. */
function checkInput(action: ActionName, input: unknown): void {
  const parsed = actionInputSchemas[action].safeParse(input ?? {});
  if (parsed.success) return;
  const problems = parsed.error.issues.map((i) => `${i.path.join('.') || '(input)'}: ${i.message}`);
  throw new CofreRequestError('COFRE_INPUT_INVALID', `invalid input for ${action}: ${problems.join('; ')}`);
}
