// The test ERC-20 (fixtures/TestToken.sol: ERC-20 + EIP-2612 permit), compiled here with solc-js (devDependency,
// pinned) and deployed on ganache from its first account, which holds the whole supply.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

import { encodeDeployData, type Hex } from 'viem';

import type { GanachePeer } from '../peers/ganache.js';

interface Compiled {
  readonly abi: readonly unknown[];
  readonly bytecode: Hex;
}

let compiled: Compiled | undefined;

/** Compiles TestToken.sol once per process (solc 0.8.26 for the shanghai EVM: ganache 7.9.2 knows no Cancun). */
export function compileTestToken(): Compiled {
  if (compiled !== undefined) return compiled;
  const require = createRequire(import.meta.url);
  const solc = require('solc') as { compile(input: string): string };
  const source = readFileSync(new URL('fixtures/TestToken.sol', import.meta.url), 'utf8');
  const output = JSON.parse(
    solc.compile(
      JSON.stringify({
        language: 'Solidity',
        sources: { 'TestToken.sol': { content: source } },
        settings: {
          evmVersion: 'shanghai',
          optimizer: { enabled: true, runs: 200 },
          outputSelection: { '*': { '*': ['abi', 'evm.bytecode.object'] } },
        },
      }),
    ),
  ) as {
    errors?: { severity: string; formattedMessage: string }[];
    contracts?: Record<string, Record<string, { abi: unknown[]; evm: { bytecode: { object: string } } }>>;
  };
  const errors = (output.errors ?? []).filter((e) => e.severity === 'error');
  if (errors.length > 0) throw new Error(errors.map((e) => e.formattedMessage).join('\n'));
  const token = output.contracts?.['TestToken.sol']?.['TestToken'];
  if (token === undefined) throw new Error('solc produced no TestToken');
  compiled = { abi: token.abi, bytecode: `0x${token.evm.bytecode.object}` };
  return compiled;
}

/** Deploys a TestToken with `supply` base units, all held by ganache's first account; its address. */
export async function deployTestToken(ganache: GanachePeer, supply: bigint): Promise<Hex> {
  const { abi, bytecode } = compileTestToken();
  const data = encodeDeployData({ abi, bytecode, args: [supply] });
  const hash = await ganache.rpc<Hex>('eth_sendTransaction', [
    { from: ganache.accounts[0], data, gas: '0x2dc6c0' },
  ]);
  const receipt = await ganache.rpc<{ contractAddress: Hex | null; status: string }>(
    'eth_getTransactionReceipt',
    [hash],
  );
  if (receipt.status !== '0x1' || receipt.contractAddress === null)
    throw new Error('TestToken deployment failed');
  return receipt.contractAddress;
}
