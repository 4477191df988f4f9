// The measuring tools of the overhead benchmark (bench/overhead.ts): what they report must be right even though the
// benchmark itself asserts nothing. No timing is asserted here: only where time is attributed and which processes
// are counted.
import { spawn } from 'node:child_process';
import { once } from 'node:events';

import { afterEach, describe, expect, it } from 'vitest';

import { selfTimes } from '../../bench/cpu-profile-summary.js';
import { clockTicksPerSecond, processTree, treeCpuMs, treeRssMiB } from '../../bench/process-usage.js';

const frame = (functionName: string, url = '', lineNumber = 0) => ({ functionName, url, lineNumber });

describe('selfTimes', () => {
  it('gives each tick to the sampled node, by function and by file, leaving idle out', () => {
    const profile = {
      nodes: [
        { id: 1, callFrame: frame('(root)') },
        { id: 2, callFrame: frame('(idle)') },
        { id: 3, callFrame: frame('append', 'file:///app/dist/audit/audit-log.js', 9) },
        { id: 4, callFrame: frame('fdatasync') },
        { id: 5, callFrame: frame('', 'file:///app/node_modules/ccxt/js/src/base/Exchange.js', 99) },
        { id: 6, callFrame: frame('(garbage collector)') },
      ],
      samples: [2, 3, 4, 3, 5, 6, 2],
      timeDeltas: [9000, 1000, 2000, 3000, 500, 250, 7000],
    };
    const times = selfTimes(profile);
    expect(times.totalMs).toBe(6.75);
    expect(Object.fromEntries(times.byFunction)).toEqual({
      'append /app/dist/audit/audit-log.js:10': 4,
      fdatasync: 2,
      '(anonymous) ccxt/js/src/base/Exchange.js:100': 0.5,
      '(garbage collector)': 0.25,
    });
    expect(times.byFile.get('(native code)')).toBe(2);
    expect(times.byFile.get('ccxt/js/src/base/Exchange.js')).toBe(0.5);
    expect(times.byFile.get('(garbage collector)')).toBe(0.25);
  });
});

describe.runIf(process.platform === 'linux')('process tree readers (/proc)', () => {
  const started: number[] = [];
  afterEach(() => {
    for (const pid of started.splice(0)) {
      try {
        process.kill(-pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  });

  it('count a grandchild in the tree, its CPU time and its memory', async () => {
    // A shell whose child spins: the spinning process is a grandchild of this test, a child of `pid`.
    const child = spawn('sh', ['-c', `${JSON.stringify(process.execPath)} -e "for(;;){}" & wait`], {
      detached: true,
      stdio: 'ignore',
    });
    started.push(child.pid!);
    const pid = child.pid!;
    let tree: number[] = [];
    for (let i = 0; i < 100 && tree.length < 2; i++) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      tree = processTree(pid);
    }
    expect(tree[0]).toBe(pid);
    expect(tree.length).toBe(2);

    // The shell itself only waits: CPU that shows up for the tree is the grandchild's.
    const before = treeCpuMs(pid)!;
    let after = before;
    for (let i = 0; i < 200 && after <= before; i++) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      after = treeCpuMs(pid)!;
    }
    expect(after).toBeGreaterThan(before);
    expect(Number.isInteger((after * clockTicksPerSecond()) / 1000)).toBe(true);

    const rss = treeRssMiB(pid)!;
    expect(rss.total).toBeGreaterThan(rss.largest); // shell + node
    expect(rss.largest).toBeGreaterThan(10); // a node process

    process.kill(-pid, 'SIGKILL');
    await once(child, 'exit');
    expect(treeCpuMs(pid)).toBeUndefined();
    expect(treeRssMiB(pid)).toBeUndefined();
  });
});
