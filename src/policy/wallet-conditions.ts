import { APPROVAL_FUNCTION_NAMES, type RuleConfig, TRANSACTION_ACTIONS } from '../config/policy-config.js';
import { compareDecimal } from '../venues/decimal.js';
import type { ResolvedTransaction } from './policy-types.js';
import type { Condition, QuestionView } from './rule-conditions.js';

/** In a rule's `wallets`: every configured wallet. */
export const ANY_WALLET = '*';

/** Functions that give an allowance: they match only rules naming them in `functions` (and need `maxAmount`). */
const APPROVAL_FUNCTIONS: ReadonlySet<string> = new Set(APPROVAL_FUNCTION_NAMES);

const list = (items: readonly string[]): string => items.join(', ');

/**
 * Whether a transaction or typed data gives an allowance: an ERC-20 `approve` / `increaseAllowance`, or a Permit /
 * Permit2 signature (their function is `permit`).
 */
export function isApproval(transaction: ResolvedTransaction): boolean {
  return (
    transaction.kind === 'permit' ||
    transaction.kind === 'permit2' ||
    (transaction.function !== undefined && APPROVAL_FUNCTIONS.has(transaction.function))
  );
}

/** The function a rule's `functions` must name for `transaction`: `permit` for Permit and Permit2 typed data. */
function functionOf(transaction: ResolvedTransaction): string | undefined {
  return transaction.kind === 'permit' || transaction.kind === 'permit2' ? 'permit' : transaction.function;
}

/**
 * Issue 19: the conditions of a rule on wallet actions — `wallets`, `chains`, `contracts`, `functions`, `selectors`,
 * `maxGas`, `maxGasPrice` — on `question.wallet` and `question.transaction`. (The wallet side of `destinations`,
 * `assets`, `minAmount`/`maxAmount` and `min`/`maxNotional` is in rule-conditions.ts, beside the order side.)
 *
 * As for every condition, one on something the question does not carry does not hold: `contracts` does not match a
 * plain transfer of the native asset, `maxGas` does not match typed data (it has no gas).
 *
 * For rules that can permit (allow, approve, confirm), two gates follow from what the rule leaves out:
 * - raw calldata (`call.data`) matches only a rule with both `selectors` and `contracts` (the two conditions then
 *   check its selector and contract are listed);
 * - an approval (`approve`, `increaseAllowance`, Permit, Permit2) matches only a rule with `functions` (which then
 *   checks it names this one).
 * A `deny` rule gets neither gate: it must keep denying approvals and raw calldata it does not name.
 */
export function compileWalletConditions(rule: RuleConfig): readonly Condition[] {
  const out: Condition[] = [];
  if (rule.wallets !== undefined) out.push(walletsCondition(rule.wallets));
  if (rule.chains !== undefined) out.push(chainsCondition(rule.chains));
  if (rule.contracts !== undefined) out.push(contractsCondition(rule.contracts));
  if (rule.functions !== undefined) out.push(functionsCondition(rule.functions));
  if (rule.selectors !== undefined) out.push(selectorsCondition(rule.selectors));
  if (rule.maxGas !== undefined) out.push(maxGasCondition(rule.maxGas));
  if (rule.maxGasPrice !== undefined) out.push(maxGasPriceCondition(rule.maxGasPrice));
  const actions = rule.allow ?? rule.approve ?? rule.confirm ?? [];
  if (rule.deny === undefined && actions.some((a) => TRANSACTION_ACTIONS.has(a))) {
    if (rule.selectors === undefined || rule.contracts === undefined) out.push(rawCalldataGate());
    if (rule.functions === undefined) out.push(approvalGate());
  }
  return out;
}

function walletsCondition(wallets: readonly string[]): Condition {
  const any = wallets.includes(ANY_WALLET);
  const set = new Set(wallets);
  const want = `only on wallets ${list(wallets)}`;
  return {
    key: 'wallets',
    onAccount: false,
    want,
    check: ({ question: { wallet } }) => {
      // SECURITY: decided on the name alone, so a wallet that exists and one that does not get the same answer.
      if (wallet !== undefined && (any || set.has(wallet))) return undefined;
      return {
        want,
        got: wallet === undefined ? 'this request names no wallet' : `not on wallet "${wallet}"`,
      };
    },
  };
}

function chainsCondition(chains: readonly string[]): Condition {
  const set = new Set(chains);
  const want = `only on chains ${list(chains)}`;
  return {
    key: 'chains',
    onAccount: false,
    want,
    check: (view: QuestionView) => {
      const chain = view.walletChain;
      if (chain !== undefined && set.has(chain)) return undefined;
      return {
        want,
        got:
          chain === undefined
            ? view.question.wallet === undefined
              ? 'this request names no wallet'
              : `wallet "${view.question.wallet}" is on no chain listed`
            : `wallet "${view.question.wallet ?? ''}" is on chain "${chain}"`,
      };
    },
  };
}

function contractsCondition(contracts: readonly string[]): Condition {
  const set = new Set(contracts);
  const want = `only calling contracts ${list(contracts)}`;
  return {
    key: 'contracts',
    onAccount: false,
    want,
    check: ({ question: { transaction } }) => {
      if (transaction?.contract !== undefined && set.has(transaction.contract)) return undefined;
      return {
        want,
        got:
          transaction === undefined
            ? 'this request is not a transaction'
            : transaction.contract === undefined
              ? 'this transaction calls no contract'
              : `not contract "${transaction.contract}"`,
      };
    },
  };
}

function functionsCondition(functions: readonly string[]): Condition {
  const set = new Set(functions);
  const want = `only calling functions ${list(functions)}`;
  return {
    key: 'functions',
    onAccount: false,
    want,
    check: ({ question: { transaction } }) => {
      const fn = transaction === undefined ? undefined : functionOf(transaction);
      if (fn !== undefined && set.has(fn)) return undefined;
      return {
        want,
        got:
          transaction === undefined
            ? 'this request is not a transaction'
            : fn === undefined
              ? transaction.raw
                ? 'this transaction is raw calldata (no known function)'
                : 'this transaction calls no function'
              : `not function "${fn}"`,
      };
    },
  };
}

function selectorsCondition(selectors: readonly string[]): Condition {
  const set = new Set(selectors);
  const want = `only with selectors ${list(selectors)}`;
  return {
    key: 'selectors',
    onAccount: false,
    want,
    check: ({ question: { transaction } }) => {
      if (transaction?.selector !== undefined && set.has(transaction.selector)) return undefined;
      return {
        want,
        got:
          transaction === undefined
            ? 'this request is not a transaction'
            : transaction.selector === undefined
              ? 'this transaction calls no function'
              : `not selector ${transaction.selector}`,
      };
    },
  };
}

function maxGasCondition(maxGas: number): Condition {
  const want = `up to maxGas ${String(maxGas)}`;
  return {
    key: 'maxGas',
    onAccount: false,
    want,
    check: ({ question: { transaction } }) => {
      const gas = transaction?.gas;
      if (gas !== undefined && gas.limit <= maxGas) return undefined;
      return {
        want,
        got:
          transaction === undefined
            ? 'this request is not a transaction'
            : gas === undefined
              ? 'this request has no gas limit (typed data)'
              : `this transaction needs gas ${String(gas.limit)}`,
      };
    },
  };
}

function maxGasPriceCondition(maxGwei: string): Condition {
  const want = `up to maxGasPrice ${maxGwei} gwei`;
  return {
    key: 'maxGasPrice',
    onAccount: false,
    want,
    check: ({ question: { transaction } }) => {
      const gas = transaction?.gas;
      if (gas !== undefined && compareDecimal(gas.maxFeePerGasGwei, maxGwei) <= 0) return undefined;
      return {
        want,
        got:
          transaction === undefined
            ? 'this request is not a transaction'
            : gas === undefined
              ? 'this request has no gas price (typed data)'
              : `the max fee per gas is ${gas.maxFeePerGasGwei} gwei now; try again when gas is cheaper`,
      };
    },
  };
}

/** SECURITY: raw calldata is opaque to policy; only a rule that names its contract and selector may permit it. */
function rawCalldataGate(): Condition {
  const want = 'only decoded calls (raw calldata needs a rule with selectors and contracts)';
  return {
    key: 'raw calldata',
    onAccount: false,
    gate: true,
    want,
    check: ({ question: { transaction } }) => {
      if (transaction?.raw !== true) return undefined;
      return {
        want,
        got: `this transaction is raw calldata${transaction.selector === undefined ? '' : ` (selector ${transaction.selector})`}; call a known function instead`,
      };
    },
  };
}

/** SECURITY: an allowance lets the spender move the tokens later; only a rule naming the function may permit it. */
function approvalGate(): Condition {
  const want = 'no approvals (an approval needs a rule naming it in functions)';
  return {
    key: 'approvals',
    onAccount: false,
    gate: true,
    want,
    check: ({ question: { transaction } }) => {
      if (transaction === undefined || !isApproval(transaction)) return undefined;
      return { want, got: `this is an approval (${functionOf(transaction) ?? 'permit'})` };
    },
  };
}
