import { getAddress } from 'viem';

import type { AddressBookEntry } from '../broker/resolve-action.js';
import type { ChainConfig, ContractConfig } from '../config/wallets-config.js';
import { CofreError } from '../errors.js';
import type { Hex } from './signer.js';

/** A name an agent may use for an address on a chain, resolved. */
export type NamedAddress =
  | { readonly kind: 'label'; readonly name: string; readonly address: Hex; readonly asset: string }
  | {
      readonly kind: 'contract';
      readonly name: string;
      readonly address: Hex;
      readonly contract: ContractConfig;
    }
  | { readonly kind: 'self'; readonly name: 'self'; readonly address: Hex };

/**
 * The names of addresses on one chain, both ways: address-book labels whose `network` is the chain's name, and the
 * chain's contracts. Agents give names, never addresses; typed data carries addresses, which map back to names here.
 * A name that is both a label and a contract is ambiguous and refused.
 */
export class ChainNames {
  readonly #chain: string;
  readonly #labels = new Map<string, { address: Hex; asset: string }>();
  readonly #contracts = new Map<string, { address: Hex; contract: ContractConfig }>();
  readonly #byAddress = new Map<string, string>();

  constructor(chain: string, config: ChainConfig, addressBook: Readonly<Record<string, AddressBookEntry>>) {
    this.#chain = chain;
    for (const [name, contract] of Object.entries(config.contracts)) {
      const address = getAddress(contract.address);
      this.#contracts.set(name, { address, contract });
      this.#byAddress.set(address.toLowerCase(), name);
    }
    for (const [label, entry] of Object.entries(addressBook)) {
      if (entry.network !== chain || !/^0x[0-9a-fA-F]{40}$/.test(entry.address)) continue;
      const address = getAddress(entry.address);
      this.#labels.set(label, { address, asset: entry.asset });
      // A contract's name wins over a label of the same address: it says more (its known functions).
      if (!this.#byAddress.has(address.toLowerCase())) this.#byAddress.set(address.toLowerCase(), label);
    }
  }

  /**
   * What `name` stands for: a label of this chain, a contract, or `self` (the wallet, when `self` is given).
   * Throws `COFRE_DESTINATION_UNKNOWN` for a name that is neither, or both.
   */
  resolve(name: string, self?: Hex): NamedAddress {
    if (name === 'self' && self !== undefined) return { kind: 'self', name: 'self', address: self };
    const label = this.#labels.get(name);
    const contract = this.#contracts.get(name);
    if (label !== undefined && contract !== undefined) {
      throw new CofreError(
        'COFRE_DESTINATION_UNKNOWN',
        `"${name}" is both an address-book label and a contract on chain ${this.#chain}; the operator must rename one`,
      );
    }
    if (label !== undefined) return { kind: 'label', name, ...label };
    if (contract !== undefined) return { kind: 'contract', name, ...contract };
    throw new CofreError(
      'COFRE_DESTINATION_UNKNOWN',
      `no address-book label or contract "${name}" on chain ${this.#chain}; transactions go only to names an operator configured`,
    );
  }

  /** The contract named `name`; `COFRE_DESTINATION_UNKNOWN` when there is none. */
  contract(name: string): { readonly address: Hex; readonly contract: ContractConfig } {
    const found = this.#contracts.get(name);
    if (found === undefined) {
      throw new CofreError('COFRE_DESTINATION_UNKNOWN', `no contract "${name}" on chain ${this.#chain}`);
    }
    return found;
  }

  /** The configured name of `address` (a contract's, else a label's), or undefined. */
  nameOf(address: string): string | undefined {
    return this.#byAddress.get(address.toLowerCase());
  }

  /** The chain's contracts, by name. */
  contracts(): ReadonlyMap<string, { readonly address: Hex; readonly contract: ContractConfig }> {
    return this.#contracts;
  }
}
