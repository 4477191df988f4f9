// The shell line and the Python snippet as a shell and Python read them: odd paths come back exact.
import { execFileSync } from 'node:child_process';

import { describe, expect, it } from 'vitest';

import { cofreCommand, shellLine } from '../../src/surfaces/cli/cofre-command.js';

describe('shellLine', () => {
  it('reads back as the same words in a POSIX shell, whatever the paths hold', () => {
    const command = cofreCommand("/tmp/my configs/it's cofre.yaml", [
      'mcp',
      '--token-file',
      '/tmp/a b/$HOME`x`',
    ]);
    const words = execFileSync(
      'sh',
      ['-c', `printf '%s\\n' ${shellLine(command).split(' ').slice(1).join(' ')}`],
      {
        encoding: 'utf8',
      },
    );
    expect(words.trimEnd().split('\n')).toEqual(command.args);
  });

  it('leaves plain paths unquoted, so the line also reads well', () => {
    expect(
      shellLine({
        command: '/usr/bin/node',
        args: ['/opt/cofre/bin/cofre.js', '--config', '/etc/cofre.yaml'],
      }),
    ).toBe('/usr/bin/node /opt/cofre/bin/cofre.js --config /etc/cofre.yaml');
  });
});
