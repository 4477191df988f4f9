import type { CofreConfig } from '../../config/config-schema.js';
import type { WalletKeyConfig } from '../../config/wallets-config.js';
import { isCofreError } from '../../errors.js';
import type { SecretResolver } from '../../secrets/secret-resolver.js';
import { openSigner } from '../../wallets/signer.js';

/** What `cofre wallet list` and `cofre doctor` learn of a wallet's key. */
export type WalletKeyStatus =
  | { readonly ok: true; readonly address: string; readonly source: string }
  | { readonly ok: false; readonly code: string; readonly message: string; readonly source: string };

/**
 * Opens the signer of `key` and reads its address: for AWS KMS a GetPublicKey with the key spec and usage checked;
 * for an embedded key, one read of its secret through `resolver` (zeroed after). Never throws a cofre error: it is
 * reported. SECURITY: messages come from the signers, which name key ids and references, never a value.
 */
export async function walletKeyStatus(
  key: WalletKeyConfig,
  resolver: SecretResolver,
): Promise<WalletKeyStatus> {
  const signer = openSigner(key, { secrets: { read: (reference) => resolver.resolve(reference) } });
  try {
    return { ok: true, address: await signer.address(), source: signer.source };
  } catch (err) {
    if (!isCofreError(err)) throw err;
    return { ok: false, code: err.code, message: err.message, source: signer.source };
  } finally {
    await signer.close();
  }
}

/** The configured wallets, by name, in config order. */
export function walletEntries(config: CofreConfig): [string, CofreConfig['wallets'][string]][] {
  return Object.entries(config.wallets);
}
