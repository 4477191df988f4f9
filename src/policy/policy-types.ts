import type { PolicyAction } from '../config/config-schema.js';
import type { Decimal, OrderSide, OrderType } from '../venues/venue-account.js';

/**
 * An order as it will actually be sent (issue 9: policy never sees the raw input): fitted to the market's steps,
 * with the reference price it was judged against and its value in the quote asset.
 */
export interface ResolvedOrder {
  readonly symbol: string;
  readonly base: string;
  readonly quote: string;
  readonly side: OrderSide;
  readonly type: OrderType;
  readonly amount: Decimal;
  /** Limit price; absent for a market order. */
  readonly price: Decimal | undefined;
  /** The venue's last price, from a short per-symbol cache; absent when the venue gave none. */
  readonly referencePrice: Decimal | undefined;
  /** amount × (limit price, or the reference price for a market order), in `quote`. */
  readonly notional: Decimal;
}

/** A withdrawal with its destination resolved from the operator's address book. */
export interface ResolvedWithdrawal {
  readonly asset: string;
  readonly amount: Decimal;
  /** The address-book label the agent named; the address itself never reaches policy text or the agent. */
  readonly destination: string;
  readonly network: string | undefined;
}

/** What policy judges of an `http_request`: where it goes, not what it carries (query and body are not judged). */
export interface HttpRequestQuestion {
  readonly service: string;
  readonly method: string;
  readonly path: string;
}

/**
 * Issue 19: what one asset a transaction or typed data moves or authorises. `value`: native value sent; `transfer`:
 * tokens sent by an ERC-20 `transfer`; `approval`: an allowance given (`approve`, `increaseAllowance`, a Permit or
 * Permit2 signature) — counted like the transfer it authorises, since that is what it lets the spender do.
 */
export interface ResolvedMove {
  readonly kind: 'value' | 'transfer' | 'approval';
  /** The native asset (e.g. ETH) or the token's configured symbol. */
  readonly asset: string;
  /** In units of the asset (ETH, not wei; USDC, not its base units), exact. */
  readonly amount: Decimal;
  /** Who receives it or may spend it: an address-book label or a contract name; never an address. */
  readonly to: string;
}

/**
 * Issue 19: a transaction or typed data as it will be signed (policy never sees the raw input): every address in it
 * resolved from a name the operator configured, its call decoded against a known ABI.
 */
export interface ResolvedTransaction {
  readonly wallet: string;
  /** The chain's name in `chains`, and its EIP-155 id. */
  readonly chain: string;
  readonly chainId: number;
  /** `transaction` (preview/send), or the typed data signed (`sign_typed_data`). */
  readonly kind: 'transaction' | 'permit' | 'permit2' | 'typed-data-unknown';
  /** The label or contract name the transaction goes to (`to`), or the typed data's verifying contract. */
  readonly to: string;
  /** The contract called, by name; absent for a plain transfer of the native asset. */
  readonly contract?: string | undefined;
  /** The function called (`transfer`, `approve`, …; `permit` for typed data); absent for a plain transfer. */
  readonly function?: string | undefined;
  /** The 4-byte selector of the call, lower-case hex; absent for a plain transfer. */
  readonly selector?: string | undefined;
  /** The agent gave raw calldata (`call.data`): matches only rules that list its selector. */
  readonly raw: boolean;
  /** What it moves or authorises, per asset; may be empty (a call that moves nothing known). */
  readonly moves: readonly ResolvedMove[];
  /** Every label and contract name it sends to or authorises (`destinations` must hold them all). */
  readonly recipients: readonly string[];
  /** An approval of at least 2^255 base units, or `type(uint256).max`: always denied. */
  readonly unlimitedApproval: boolean;
  /** Gas limit and EIP-1559 max fee per gas (gwei, decimal), after estimation; absent for typed data. */
  readonly gas?: { readonly limit: number; readonly maxFeePerGasGwei: Decimal } | undefined;
  /** The moves valued at the chain's `prices`, in its `quote`; absent when any move has no price. */
  readonly notional?: { readonly quote: string; readonly amount: Decimal } | undefined;
}

/** Issue 19: what policy judges of `encrypt`, `decrypt` and `generate_data_key`: the key and the purpose. */
export interface EncryptionQuestion {
  readonly key: string;
  readonly purpose: string;
}

/** One question to the policy: may this agent do this (resolved) action now? */
export interface PolicyQuestion {
  readonly agentId: string;
  readonly policy: string;
  readonly action: PolicyAction;
  /** Absent for actions not tied to one account (`list_accounts`, `get_limits`). */
  readonly account: string | undefined;
  /** For actions on one market (tickers, cancels, open orders of one symbol). Orders carry theirs in `order`. */
  readonly symbol?: string | undefined;
  /** `place_order` and `preview_order`. */
  readonly order?: ResolvedOrder | undefined;
  /** `withdraw`. */
  readonly withdrawal?: ResolvedWithdrawal | undefined;
  /** `http_request` (issue 15): the service by name, the method and the path under its base URL. */
  readonly http?: HttpRequestQuestion | undefined;
  /** `connect_database`: the name of the database in `databases`. */
  readonly database?: string | undefined;
  /** Issue 19, wallet actions: the wallet by name. */
  readonly wallet?: string | undefined;
  /** Issue 19: `preview_transaction`, `send_transaction`, `sign_typed_data`. */
  readonly transaction?: ResolvedTransaction | undefined;
  /** Issue 19: `encrypt`, `decrypt`, `generate_data_key`. */
  readonly encryption?: EncryptionQuestion | undefined;
}

/** What a limit counts. */
export type LimitMeasure = 'notional' | 'orders' | 'openOrders' | 'withdrawals' | 'transfers';

/**
 * One limit applied to one request: what the request would use of it. The state store reserves every check of a
 * request atomically, or none.
 */
export interface LimitCheck {
  /** Where it is written, e.g. `policies.trader.limits[0]` or its `name:`. Shown to agents and operators. */
  readonly limit: string;
  /**
   * The counter it draws on: scope, measure, unit and window, e.g. `agent:bot-1|notional|USDT|86400000`. Requests
   * with the same key share one budget (a `global` or `account` limit is shared by every agent under it).
   */
  readonly key: string;
  readonly measure: LimitMeasure;
  /** Rolling window in ms; absent for `openOrders` (a level, not a flow). */
  readonly windowMs: number | undefined;
  /** The cap, in the measure's unit (quote asset for notional, the asset for withdrawals, a count otherwise). */
  readonly cap: Decimal;
  /** What this request uses: its notional, its amount, or 1. */
  readonly amount: Decimal;
}

/** A shadow rule that would have changed the decision; recorded, not enforced. */
export interface ShadowOutcome {
  readonly rule: string;
  readonly decision: PolicyDecision['decision'];
  readonly reason: string;
}

/** What policy decided, which rule decided it, and against which policy text. */
export interface PolicyDecision {
  /**
   * `approval`: waits for operators; `confirm`: the human at the agent's own client must confirm (MCP elicitation),
   * denied where the client cannot ask.
   */
  readonly decision: 'allow' | 'deny' | 'approval' | 'confirm';
  /** The rule that decided (`policies.trader.rules[2]`, or `policies.trader.rules[2] (big-orders)`), or `default-deny`. */
  readonly rule: string;
  /** Words an agent can act on: what was refused and what would be allowed. */
  readonly reason: string;
  /** SHA-256 (hex) of the canonical text of the deciding policy (and the address book), for the audit log. */
  readonly policyHash: string;
  /** For `approval`: how many distinct operators must approve, and which ones may (absent: any operator). */
  readonly approvers?: { readonly count: number; readonly of?: readonly string[] | undefined } | undefined;
  /** The limits this request draws on, for allow, approval and confirm; empty for deny. */
  readonly limits: readonly LimitCheck[];
  /** Shadow rules (`mode: shadow`) that would have decided otherwise. */
  readonly shadow: readonly ShadowOutcome[];
}

/** One rule as `cofre policy explain` shows it. */
export interface RuleExplanation {
  readonly rule: string;
  readonly effect: 'allow' | 'deny' | 'approve' | 'confirm';
  readonly mode: 'enforce' | 'shadow';
  readonly matched: boolean;
  /** Why it matched, or the first condition that did not. */
  readonly why: string;
}

/** A limit as `get_limits` shows it to an agent, with its usage filled in by the state store. */
export interface LimitView {
  readonly limit: string;
  readonly key: string;
  readonly measure: LimitMeasure;
  readonly scope: string;
  readonly windowMs: number | undefined;
  readonly cap: Decimal;
  /** The unit: the quote asset(s) for notional, the asset for withdrawals; absent for counts. */
  readonly unit: string | undefined;
}

/** The engine the broker depends on. Pure and deterministic: the clock is injected; no I/O. */
export interface PolicyEngine {
  decide(question: PolicyQuestion): PolicyDecision;
  /** The decision with every rule considered and why it matched or not. */
  explain(question: PolicyQuestion): {
    readonly decision: PolicyDecision;
    readonly rules: readonly RuleExplanation[];
  };
  /** Accounts the agent may use at all (in some enforced allow, approve or confirm rule), for `list_accounts`. */
  accountsFor(policy: string): readonly string[];
  /** Actions the agent could ever get other than denied (tools not listed are not shown to it). */
  actionsFor(policy: string): ReadonlySet<PolicyAction>;
  /** Issue 19: wallets the agent may use at all (in some enforced allow, approve or confirm rule of a wallet action). */
  walletsFor(policy: string): readonly string[];
  /**
   * Every limit that applies to an agent under `policy`, with account-scoped ones expanded per account and
   * wallet-scoped ones per wallet it may use.
   */
  limitsFor(agentId: string, policy: string): readonly LimitView[];
}
