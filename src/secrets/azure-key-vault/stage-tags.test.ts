import { describe, expect, it } from 'vitest';

import { type Stage, STAGES } from '../secret-reference.js';
import {
  effectiveStages,
  planStageUpdates,
  STAGE_TAG,
  stageTagValue,
  taggedStages,
  type VersionFacts,
  WRITTEN_TAG,
} from './stage-tags.js';

/** A version created at second `s` (Key Vault's resolution), optionally with cofre's tags. */
function v(version: string, s: number, stage?: string, writtenMs?: number): VersionFacts {
  const tags: Record<string, string> = {};
  if (stage !== undefined) tags[STAGE_TAG] = stage;
  if (writtenMs !== undefined) tags[WRITTEN_TAG] = String(writtenMs);
  return {
    version,
    createdAt: new Date(s * 1000),
    tags: stage === undefined && writtenMs === undefined ? undefined : tags,
  };
}

/** Applies updates one by one, checking after each that every stage reads as before or as after. */
function applyChecked(versions: VersionFacts[], target: Partial<Record<Stage, string>>): VersionFacts[] {
  const before = effectiveStages(versions).stages;
  let state = versions;
  for (const update of planStageUpdates(versions, target)) {
    state = state.map((x) =>
      x.version === update.version
        ? { ...x, tags: { ...x.tags, [STAGE_TAG]: stageTagValue(update.stages) } }
        : x,
    );
    const now = effectiveStages(state).stages;
    for (const stage of STAGES) expect([before[stage], target[stage]]).toContain(now[stage]);
    if (before.current !== undefined && target.current !== undefined) expect(now.current).toBeDefined();
  }
  expect(effectiveStages(state).stages).toEqual(target);
  return state;
}

describe('stage tags', () => {
  it('reads the tag: comma-separated stages, none, or no tag at all', () => {
    expect(taggedStages({ [STAGE_TAG]: 'pending,current' })).toEqual(['current', 'pending']);
    expect(taggedStages({ [STAGE_TAG]: 'none' })).toEqual([]);
    expect(taggedStages({ other: 'x' })).toBeUndefined();
    expect(stageTagValue([])).toBe('none');
    expect(stageTagValue(['pending', 'current'])).toBe('current,pending');
  });

  it('a secret cofre never staged: its newest version is current', () => {
    expect(effectiveStages([v('a', 1), v('b', 2)]).stages).toEqual({ current: 'b' });
    expect(effectiveStages([]).stages).toEqual({});
  });

  it('orders versions of the same second by cofre-written, and the newer holder of a stage decides', () => {
    const view = effectiveStages([v('b', 5, 'current', 2000), v('a', 5, 'current', 1000)]);
    expect(view.ordered.map((x) => x.version)).toEqual(['a', 'b']);
    expect(view.stages).toEqual({ current: 'b' });
  });

  it('orders versions of one second without cofre-written by Key Vault latest, where the caller knows it', () => {
    const latestFirst = [{ ...v('b', 5), latest: true }, v('a', 5)];
    expect(effectiveStages(latestFirst).stages).toEqual({ current: 'b' });
    expect(effectiveStages(latestFirst).ordered.map((x) => x.version)).toEqual(['a', 'b']);
    // Concurrent writers: the writer's clock says a is newer, Key Vault served b last; Key Vault decides.
    const raced = [{ ...v('b', 5, 'current', 1000), latest: true }, v('a', 5, 'current', 2000)];
    expect(effectiveStages(raced).stages).toEqual({ current: 'b' });
  });

  it('a version written outside cofre after cofre staged the secret holds nothing', () => {
    expect(effectiveStages([v('a', 1, 'current'), v('b', 2)]).stages).toEqual({ current: 'a' });
  });

  it('write current: the new version is born current; the old one becomes previous, the older loses it', () => {
    const state = [v('a', 1, 'previous'), v('b', 2, 'current'), v('c', 3, 'current')];
    const out = applyChecked(state, { current: 'c', previous: 'b' });
    expect(out.map((x) => x.tags?.[STAGE_TAG])).toEqual(['none', 'previous', 'current']);
    expect(planStageUpdates(state, { current: 'c', previous: 'b' })).toHaveLength(2);
  });

  it('promotion, rollback, clearing and a second pending keep a readable current at every step', () => {
    const base = [v('a', 1, 'previous'), v('b', 2, 'current'), v('c', 3, 'pending')];
    applyChecked(base, { current: 'c', previous: 'b' });
    applyChecked(base, { current: 'a', previous: 'b', pending: 'c' });
    applyChecked(base, { current: 'b', previous: 'a' });
    applyChecked(base, { current: 'b', pending: 'c' });
    applyChecked([...base, v('d', 4, 'pending')], { current: 'b', previous: 'a', pending: 'd' });
    applyChecked(base, { current: 'b', previous: 'b', pending: 'c' });
  });

  it('staging a secret cofre never staged tags its current first, so it never loses current', () => {
    const foreign = [v('a', 1), v('b', 2)];
    const plan = planStageUpdates(foreign, { current: 'a', previous: 'b' });
    expect(plan[0]).toEqual({ version: 'b', stages: ['current'] });
    applyChecked(foreign, { current: 'a', previous: 'b' });
  });

  it('cleans stale tags (an interrupted change) before moving anything', () => {
    const interrupted = [v('a', 1, 'current'), v('b', 2, 'current'), v('c', 3, 'previous')];
    const out = applyChecked(interrupted, { current: 'a', previous: 'b' });
    expect(out.map((x) => taggedStages(x.tags))).toEqual([['current'], ['previous'], []]);
  });

  it('plans nothing when the tags already say the target', () => {
    expect(
      planStageUpdates([v('a', 1, 'previous'), v('b', 2, 'current'), v('c', 3)], {
        current: 'b',
        previous: 'a',
      }),
    ).toEqual([]);
  });
});
