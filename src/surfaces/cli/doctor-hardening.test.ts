import { describe, expect, it } from 'vitest';

import { type ProcessFacts, processHardeningFindings } from './doctor-hardening.js';
import { secretLookingNames } from './doctor-secret-env.js';

const LIMITS = (core: string): string =>
  [
    'Limit                     Soft Limit           Hard Limit           Units',
    'Max cpu time              unlimited            unlimited            seconds',
    `Max core file size        ${core}                    unlimited            bytes`,
    'Max open files            1024                 1048576              files',
  ].join('\n');

const CLEAN: ProcessFacts = {
  limits: LIMITS('0'),
  execArgv: [],
  nodeOptions: undefined,
  inspectorUrl: undefined,
  environmentNames: ['PATH', 'HOME'],
};

function bySubject(facts: ProcessFacts, subject: string) {
  return processHardeningFindings(facts).find((f) => f.subject === subject);
}

describe('the hardening check of the process', () => {
  it('passes a process with core dumps off, no inspector and no secret-looking variable', () => {
    expect(processHardeningFindings(CLEAN).map((f) => f.status)).toEqual(['ok', 'ok', 'ok']);
  });

  it('warns when core dumps are on, and says how to turn them off', () => {
    const found = bySubject({ ...CLEAN, limits: LIMITS('unlimited') }, 'core dumps');
    expect(found?.status).toBe('warn');
    expect(found?.message).toMatch(/core file size limit unlimited/);
    expect(found?.message).toContain('`ulimit -c 0`');
    expect(found?.message).toContain('LimitCORE=0');
    expect(bySubject({ ...CLEAN, limits: undefined }, 'core dumps')?.status).toBe('warn');
  });

  it('fails on --inspect on the command line, in NODE_OPTIONS, or a listening inspector', () => {
    for (const facts of [
      { ...CLEAN, execArgv: ['--inspect=0.0.0.0:9229'] },
      { ...CLEAN, nodeOptions: '--max-old-space-size=512 --inspect-brk' },
      { ...CLEAN, inspectorUrl: 'ws://127.0.0.1:9229/abc' },
    ]) {
      expect(bySubject(facts, 'inspector')?.status).toBe('fail');
    }
    expect(bySubject({ ...CLEAN, nodeOptions: '--max-old-space-size=512' }, 'inspector')?.status).toBe('ok');
  });
});

describe('secretLookingNames', () => {
  it('finds names with a secret word, and leaves pointers, ids and ordinary names alone', () => {
    expect(
      secretLookingNames([
        'BINANCE_API_KEY',
        'VAULT_TOKEN',
        'DB_PASSWORD',
        'AWS_SECRET_ACCESS_KEY',
        'apiKey',
        'MY_PASSPHRASE',
        'GITHUB_TOKEN',
        'AWS_WEB_IDENTITY_TOKEN_FILE',
        'AWS_ACCESS_KEY_ID',
        'SSH_AUTH_SOCK',
        'PASSWORD_STORE_DIR',
        'KEYTIMEOUT',
        'PATH',
        'HOME',
        'PWD',
        'COFRE_CONFIG',
        'MONKEY',
      ]),
    ).toEqual([
      'AWS_SECRET_ACCESS_KEY',
      'BINANCE_API_KEY',
      'DB_PASSWORD',
      'GITHUB_TOKEN',
      'MY_PASSPHRASE',
      'VAULT_TOKEN',
      'apiKey',
    ]);
  });
});
