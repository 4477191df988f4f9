import type { CofreConfig } from '../../config/config-schema.js';
import { formatDuration } from '../../config/duration.js';
import { CofreError } from '../../errors.js';
import { overlapWindowMs } from '../../rotation/overlap-window.js';
import type { RotationContext } from '../../rotation/rotation-context.js';
import { accountCredentialFields, RotationEngine } from '../../rotation/rotation-engine.js';
import { rollbackRotation } from '../../rotation/rotation-rollback.js';
import type { RotationRecord } from '../../rotation/rotation-types.js';
import { openResolver } from '../../secrets/open-backend.js';
import { looksLikeLiteralSecret } from '../../secrets/secret-reference.js';
import { openStateStore } from '../../state/open-state-store.js';
import { checkKeyScope } from '../../venues/check-key-scope.js';
import { localOperator, openCliAudit } from './cli-audit.js';
import { type CliIo, println } from './cli-io.js';
import { loadCliConfig } from './command-context.js';
import type { GlobalOptions } from './command-spec.js';
import { promptHidden } from './read-secret-input.js';
import { readNewCredentials } from './rotate-input.js';
import { rotateStatus } from './rotate-status.js';

/** The options of `cofre rotate`. */
export interface RotateOptions {
  readonly fromFile?: string;
  readonly secret?: string;
  readonly generate?: boolean;
  readonly bytes?: string;
  readonly resume?: string;
  readonly rollback?: boolean;
  /** `--status` alone is `true`; `--status <id>` the id. */
  readonly status?: string | boolean;
  readonly json?: boolean;
}

/**
 * `cofre rotate`: rotates an account's credentials (`<account>`, new credentials from `--from-file`, stdin or a
 * prompt) or generates a secret (`--secret <ref> --generate [--bytes n]`), by the four steps of issue 12 with
 * progress on stderr; `--resume <id>` carries an interrupted rotation to its end; `--rollback` moves `current`
 * back; `--status [id]` lists rotations (`--json` for monitoring). The work is the rotation engine's
 * (`rotation/rotation-engine.ts`); this file parses, opens and prints.
 */
export async function rotate(
  io: CliIo,
  global: GlobalOptions,
  account: string | undefined,
  options: RotateOptions,
): Promise<void> {
  if (options.status !== undefined && options.status !== false) {
    await rotateStatus(
      io,
      global,
      options.status === true ? undefined : options.status,
      options.json === true,
    );
    return;
  }
  // commander gives a missing optional argument as ''.
  const target = rotateTarget(account === '' ? undefined : account, options);
  const config = await loadCliConfig(io, global);
  const promptPassphrase = (question: string): Promise<Buffer> => promptHidden(io, question);
  // New credentials are read before anything opens, so a mistyped input costs nothing.
  const credentials =
    options.resume === undefined && options.rollback !== true && target?.kind === 'account'
      ? await readNewCredentials(io, accountCredentialFields({ config }, target.account), options.fromFile)
      : undefined;
  const opened = await openRotationContext(config, {
    promptPassphrase,
    onStep: (progress) => {
      if (progress.message !== undefined) println(io.stderr, progress.message);
    },
    onWarning: (message) => {
      println(io.stderr, `warning: ${message}`);
    },
  });
  const { context } = opened;
  try {
    const engine = new RotationEngine(context);
    let record: RotationRecord;
    if (options.resume !== undefined) record = await engine.resume(options.resume);
    else if (options.rollback === true && target !== undefined)
      record = await rollbackRotation(context, target);
    else if (target?.kind === 'secret')
      record = await engine.rotateGenerated(target.reference, bytesOf(options));
    else if (target !== undefined && credentials !== undefined) {
      record = await engine.rotateAccount(target.account, credentials);
    } else throw new CofreError('COFRE_USAGE', 'nothing to rotate; see cofre rotate --help');
    report(io, context, record);
  } finally {
    for (const value of credentials?.values() ?? []) value.zero();
    await opened.close();
  }
}

/**
 * The rotation context of a config as the CLI runs it: its backends (one resolver, invalidated on promotion), its
 * state file, its audit log (opened on first append), the broker's venue accounts and the key-scope check.
 * Exported for the crash test's child, which runs exactly this with its own `onStep`.
 */
export async function openRotationContext(
  config: CofreConfig,
  options: Pick<RotationContext, 'onStep' | 'onWarning'> & {
    readonly promptPassphrase?: (question: string) => Promise<Buffer>;
  },
): Promise<{ readonly context: RotationContext; close(): Promise<void> }> {
  const backendOptions =
    options.promptPassphrase === undefined ? {} : { promptPassphrase: options.promptPassphrase };
  const resolver = await openResolver(config, backendOptions);
  const state = await openStateStore(config, { resolver }).catch(async (err: unknown) => {
    await resolver.close();
    throw err;
  });
  const audit = openCliAudit(config, { ...backendOptions, state });
  const context: RotationContext = {
    config,
    backend: (name) => resolver.backend(name),
    invalidate: (backend, path) => {
      resolver.invalidate({ backend, path, field: undefined, selector: { kind: 'latest' } });
    },
    store: state,
    audit,
    openVenue: async (id, accountConfig, read) =>
      (await import('../../venues/ccxt-venue-account.js')).openVenueAccount(id, accountConfig, read),
    checkKeyScope,
    by: localOperator(),
    now: () => new Date(),
    onStep: options.onStep,
    onWarning: options.onWarning,
  };
  return {
    context,
    close: async () => {
      await audit.close();
      await state.close();
      await resolver.close();
    },
  };
}

/** What the command line names, checked before anything is opened. */
function rotateTarget(
  account: string | undefined,
  options: RotateOptions,
): RotationRecord['target'] | undefined {
  if (options.resume !== undefined) {
    if (account !== undefined || options.secret !== undefined || options.rollback === true) {
      throw new CofreError('COFRE_USAGE', '--resume <id> takes no account, --secret or --rollback');
    }
    return undefined;
  }
  if (options.secret !== undefined) {
    if (account !== undefined) throw new CofreError('COFRE_USAGE', 'give an account or --secret, not both');
    // SECURITY: a pasted value is never echoed back in a parse error.
    if (looksLikeLiteralSecret(options.secret)) {
      throw new CofreError(
        'COFRE_USAGE',
        '--secret takes a secret reference (e.g. local:db/password), and this looks like a value; values never go on the command line',
      );
    }
    if (options.generate !== true && options.rollback !== true) {
      throw new CofreError(
        'COFRE_USAGE',
        '--secret needs --generate (cofre makes the new value) or --rollback; to rotate to a value you give, use cofre secret put --pending and cofre secret promote',
      );
    }
    return { kind: 'secret', reference: options.secret };
  }
  if (account === undefined) {
    throw new CofreError(
      'COFRE_USAGE',
      'name the account to rotate (cofre rotate <account>), or use --secret, --resume or --status',
    );
  }
  if (options.generate === true) {
    throw new CofreError('COFRE_USAGE', '--generate is for --secret; a venue key is made at the venue');
  }
  return { kind: 'account', account };
}

function bytesOf(options: RotateOptions): number | undefined {
  if (options.bytes === undefined) return undefined;
  if (!/^\d+$/.test(options.bytes)) throw new CofreError('COFRE_USAGE', '--bytes takes a whole number');
  return Number(options.bytes);
}

/** The end of a rotation, and for a promoted account when the old key may be revoked at the venue. */
function report(io: CliIo, context: RotationContext, record: RotationRecord): void {
  println(io.stdout, `${record.id} ${record.status}`);
  if (record.status === 'promoted' && record.target.kind === 'account') {
    const windowMs = overlapWindowMs(context.config, record.target.account);
    const promotedAt = record.promotedAt ?? record.updatedAt;
    const safeAt = new Date(promotedAt.getTime() + windowMs).toISOString();
    println(
      io.stderr,
      `The new key is current. Keep the old key working at the venue until ${safeAt} (overlap window ${formatDuration(windowMs)}: running brokers pick up the new key within it), then revoke it there.`,
    );
  }
  if (record.status === 'failed')
    println(io.stderr, `Rotation failed: ${record.error ?? 'see cofre rotate --status'}`);
  if (record.status === 'rolled-back') {
    const moved = record.secrets.map((s) => `${s.backend}:${s.path} v${s.newVersion ?? '?'}`).join(', ');
    println(
      io.stderr,
      `Rolled back: ${moved} current again. The key it replaced must still work at the venue.`,
    );
  }
}
