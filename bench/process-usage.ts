// CPU time and memory of another process and its descendants, read from Linux's /proc: what a peer of the benchmark
// (cofre, nginx, the paper exchange) spends, apart from the benchmark's own process. Linux only; elsewhere the
// readers return undefined and the tables say "n/a".
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

let ticksPerSecond: number | undefined;

/** Clock ticks per second of /proc's CPU times (`getconf CLK_TCK`, almost always 100). */
export function clockTicksPerSecond(): number {
  if (ticksPerSecond === undefined) {
    const text = (() => {
      try {
        return execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' });
      } catch {
        return '100';
      }
    })();
    const parsed = Number(text.trim());
    ticksPerSecond = Number.isInteger(parsed) && parsed > 0 ? parsed : 100;
  }
  return ticksPerSecond;
}

/** One line of /proc/<pid>/stat: parent and CPU time (user + system, all threads) in ticks. */
function readStat(pid: number): { ppid: number; ticks: number } | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined; // gone, or not Linux
  }
  // The command name (field 2) is in parentheses and may hold spaces or ')': fields restart after the last ')'.
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  // proc(5): field 3 state, 4 ppid, …, 14 utime, 15 stime (1-based), so indexes 1, 11 and 12 here.
  const ppid = Number(fields[1]);
  const ticks = Number(fields[11]) + Number(fields[12]);
  return Number.isFinite(ppid) && Number.isFinite(ticks) ? { ppid, ticks } : undefined;
}

/** `pid` and every live descendant (cluster workers, nginx's worker), from one scan of /proc. */
export function processTree(pid: number): number[] {
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return [];
  }
  const children = new Map<number, number[]>();
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    const child = Number(entry);
    const stat = readStat(child);
    if (stat === undefined) continue;
    const siblings = children.get(stat.ppid) ?? [];
    siblings.push(child);
    children.set(stat.ppid, siblings);
  }
  const tree: number[] = [];
  const pending = [pid];
  while (pending.length > 0) {
    const next = pending.pop()!;
    tree.push(next);
    pending.push(...(children.get(next) ?? []));
  }
  return tree;
}

/**
 * CPU time (user + system) spent so far by `pid` and its live descendants, in milliseconds; undefined when `pid`
 * cannot be read. A descendant that exited in between is not counted (its time moves to its parent's `cutime` only
 * once reaped), so read it around a span in which the tree is stable.
 */
export function treeCpuMs(pid: number): number | undefined {
  if (readStat(pid) === undefined) return undefined;
  let ticks = 0;
  for (const member of processTree(pid)) ticks += readStat(member)?.ticks ?? 0;
  return (ticks * 1000) / clockTicksPerSecond();
}

/**
 * Resident memory (VmRSS) of `pid` and its live descendants together, and of the largest one alone (a worker, or
 * `pid` itself), in MiB; undefined if `pid` cannot be read.
 */
export function treeRssMiB(pid: number): { total: number; largest: number } | undefined {
  const rss = (member: number): number | undefined => {
    try {
      const match = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${member}/status`, 'utf8'));
      return match === null ? undefined : Number(match[1]) / 1024;
    } catch {
      return undefined;
    }
  };
  if (rss(pid) === undefined) return undefined;
  let total = 0;
  let largest = 0;
  for (const member of processTree(pid)) {
    const one = rss(member) ?? 0;
    total += one;
    largest = Math.max(largest, one);
  }
  return { total, largest };
}

/**
 * Adds up the CPU time a process tree spends during the measured spans of a load case: call `start` and `end`
 * around each span (they fit {@link LoadCase.onMeasure}), then read `ms`.
 */
export class CpuMeter {
  readonly #pid: () => number;
  #startedAt: number | undefined;
  #total = 0;
  #unreadable = false;

  /** `pid` is asked at each span, so a peer that is restarted between rounds is followed. */
  constructor(pid: () => number) {
    this.#pid = pid;
  }

  readonly onMeasure = (phase: 'start' | 'end'): void => {
    const now = treeCpuMs(this.#pid());
    if (now === undefined) this.#unreadable = true;
    if (phase === 'start') this.#startedAt = now;
    else if (now !== undefined && this.#startedAt !== undefined) this.#total += now - this.#startedAt;
  };

  /** CPU milliseconds over all spans so far; undefined if the process could not be read at some point. */
  get ms(): number | undefined {
    return this.#unreadable ? undefined : this.#total;
  }
}
