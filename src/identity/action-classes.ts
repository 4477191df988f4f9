import type { ActionName } from '../broker/actions.js';

/**
 * Issue 17: the classes of action an OAuth scope grants (`agents.oauth[].scopes`). A scope only narrows: policy
 * still decides every request.
 */
export type ActionClass = 'read' | 'trade' | 'withdraw' | 'services' | 'wallet' | 'encryption';

export const ACTION_CLASSES: readonly ActionClass[] = [
  'read',
  'trade',
  'withdraw',
  'services',
  'wallet',
  'encryption',
];

/** The class of each action. Exhaustive by type, so a new action cannot be added without a class. */
export const ACTION_CLASS: Readonly<Record<ActionName, ActionClass>> = {
  list_accounts: 'read',
  get_limits: 'read',
  get_balance: 'read',
  get_ticker: 'read',
  get_open_orders: 'read',
  get_order: 'read',
  preview_order: 'read',
  get_request: 'read',
  place_order: 'trade',
  cancel_order: 'trade',
  cancel_all_orders: 'trade',
  withdraw: 'withdraw',
  http_request: 'services',
  // Issue 19: reading a wallet is a read; signing anything with it is its own class.
  get_wallet: 'read',
  preview_transaction: 'read',
  send_transaction: 'wallet',
  sign_typed_data: 'wallet',
  encrypt: 'encryption',
  decrypt: 'encryption',
  generate_data_key: 'encryption',
};
