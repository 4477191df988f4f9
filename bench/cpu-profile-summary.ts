// Where a profiled process spent its CPU: self time by function and by file, summed over every .cpuprofile in a
// directory (`node --cpu-prof` writes one per process, so cluster workers add up), with the idle node left out.
// The format is V8's Profile (Chrome DevTools protocol, Profiler.Profile): nodes with call frames, the sampled node
// of each tick and the microseconds between ticks.
import { readdir, readFile } from 'node:fs/promises';
import { join, relative } from 'node:path';

interface ProfileNode {
  readonly id: number;
  readonly callFrame: {
    readonly functionName: string;
    readonly url: string;
    readonly lineNumber: number;
  };
}

interface CpuProfile {
  readonly nodes: readonly ProfileNode[];
  readonly samples?: readonly number[];
  readonly timeDeltas?: readonly number[];
}

/** Self time, in milliseconds, per key; and the total of non-idle time. */
export interface SelfTimes {
  readonly totalMs: number;
  readonly byFunction: ReadonlyMap<string, number>;
  readonly byFile: ReadonlyMap<string, number>;
}

/** Reads every `*.cpuprofile` in `dir` and adds up their self times. */
export async function summarizeCpuProfiles(dir: string): Promise<SelfTimes & { files: number }> {
  const names = (await readdir(dir)).filter((name) => name.endsWith('.cpuprofile'));
  const byFunction = new Map<string, number>();
  const byFile = new Map<string, number>();
  let totalMs = 0;
  for (const name of names) {
    const profile = JSON.parse(await readFile(join(dir, name), 'utf8')) as CpuProfile;
    const one = selfTimes(profile);
    totalMs += one.totalMs;
    for (const [key, ms] of one.byFunction) byFunction.set(key, (byFunction.get(key) ?? 0) + ms);
    for (const [key, ms] of one.byFile) byFile.set(key, (byFile.get(key) ?? 0) + ms);
  }
  return { totalMs, byFunction, byFile, files: names.length };
}

/** Self times of one profile: each tick's delta goes to the node sampled at that tick. */
export function selfTimes(profile: CpuProfile): SelfTimes {
  const nodes = new Map(profile.nodes.map((n) => [n.id, n]));
  const byFunction = new Map<string, number>();
  const byFile = new Map<string, number>();
  let totalMs = 0;
  const samples = profile.samples ?? [];
  const deltas = profile.timeDeltas ?? [];
  for (const [i, id] of samples.entries()) {
    const node = nodes.get(id);
    const ms = (deltas[i] ?? 0) / 1000;
    if (node === undefined || node.callFrame.functionName === '(idle)') continue;
    const file = shortFile(node.callFrame.url);
    const name = node.callFrame.functionName === '' ? '(anonymous)' : node.callFrame.functionName;
    const where = file === '' ? name : `${name} ${file}:${node.callFrame.lineNumber + 1}`;
    byFunction.set(where, (byFunction.get(where) ?? 0) + ms);
    // Native code (fs bindings, crypto) has no URL; V8's own entries, like (garbage collector), keep their name.
    const fileKey = file !== '' ? file : name.startsWith('(') ? name : '(native code)';
    byFile.set(fileKey, (byFile.get(fileKey) ?? 0) + ms);
    totalMs += ms;
  }
  return { totalMs, byFunction, byFile };
}

/** A file URL made readable: from node_modules' package on, or relative to the working directory when inside it. */
function shortFile(url: string): string {
  if (url === '') return '';
  const path = url.startsWith('file://') ? decodeURIComponent(new URL(url).pathname) : url;
  const inModules = path.lastIndexOf('/node_modules/');
  if (inModules !== -1) return path.slice(inModules + '/node_modules/'.length);
  const inCwd = relative(process.cwd(), path);
  return path.startsWith('/') && !inCwd.startsWith('..') ? inCwd : path;
}

/** Prints the `top` entries by self time, by function and by file, as markdown tables. */
export function printSelfTimes(title: string, times: SelfTimes, top = 20): void {
  const table = (heading: string, entries: ReadonlyMap<string, number>): void => {
    console.log(`\n| ${heading} | self ms | share of non-idle |`);
    console.log('| --- | ---: | ---: |');
    const sorted = [...entries].sort((a, b) => b[1] - a[1]).slice(0, top);
    for (const [key, ms] of sorted) {
      const share = times.totalMs > 0 ? (100 * ms) / times.totalMs : 0;
      console.log(`| ${key.replaceAll('|', '\\|')} | ${ms.toFixed(0)} | ${share.toFixed(1)}% |`);
    }
  };
  console.log(`\n### ${title}\n\n${times.totalMs.toFixed(0)} ms of CPU sampled, idle excluded.`);
  table('function (self time)', times.byFunction);
  table('file (self time)', times.byFile);
}
