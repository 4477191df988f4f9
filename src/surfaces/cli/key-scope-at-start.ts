import type { Logger } from 'pino';

import type { KeyScopeGate, KeyScopeStatus } from '../../broker/key-scope-gate.js';

/**
 * How long `cofre serve` waits at start for the venues to say what each account's key may do before it listens
 * anyway: ccxt's request timeout (10 s), so one slow venue delays a start by at most that.
 */
export const KEY_SCOPE_START_WAIT_MS = 10_000;

/**
 * Issue 12, least privilege at start: reads and judges every account's key scope (the gate logs a warning per
 * problem and each refusal), waiting at most `waitMs`. Never fails the start: a refused account is refused while the
 * others are served, and an account not judged in time is judged on first use (a required one waits for its
 * judgement then; see `KeyScopeGate`). Resolves with what is known when it stops waiting.
 */
export async function checkKeyScopesAtStart(
  gate: Pick<KeyScopeGate, 'checkAll' | 'status'>,
  accounts: readonly string[],
  logger: Logger,
  waitMs: number = KEY_SCOPE_START_WAIT_MS,
): Promise<readonly KeyScopeStatus[]> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<'late'>((resolve) => {
    timer = setTimeout(() => {
      resolve('late');
    }, waitMs);
    timer.unref();
  });
  const done = await Promise.race([gate.checkAll(), late]).finally(() => {
    clearTimeout(timer);
  });
  const statuses = accounts.map((id) => gate.status(id));
  if (done === 'late') {
    const pending = statuses.filter((s) => s.state === 'unchecked').map((s) => s.account);
    logger.warn(
      { accounts: pending },
      `the key permissions of ${pending.join(', ')} were not read within ${waitMs} ms; serving, and judging them on first use`,
    );
  }
  return statuses;
}
