/**
 * cofre's stages on Key Vault secret versions, as tags.
 *
 * Key Vault has no labels like AWS's staging labels; every version has its own tags. cofre keeps its stages in one
 * tag per version:
 * - `cofre-stage`: the stages the version holds, comma-separated in the order current, previous, pending
 *   (`current`, `previous`, `pending`, rarely `current,pending`), or `none` for a version cofre wrote or staged
 *   that holds no stage now;
 * - `cofre-written`: milliseconds since the epoch when cofre wrote the version. Key Vault's `created` time has
 *   whole seconds only, so this orders versions written within one second (Key Vault's own latest, where known,
 *   comes last in its second: it is what Get Secret without a version serves).
 *
 * Which version holds a stage (pure function {@link effectiveStages}):
 * - a secret none of whose versions has a `cofre-stage` tag (written with the portal or `az`, never staged by
 *   cofre) has one stage: its newest version is `current`, as Key Vault itself serves it (when two were created
 *   in the same second, the caller marks Key Vault's latest);
 * - otherwise the newest version whose tag names a stage holds it. Versions without the tag hold none; a version
 *   written with `az keyvault secret set` after cofre staged the secret becomes current only when moved there
 *   (`cofre secret promote`).
 *
 * Changing stages takes one Update Secret call per version whose tag changes; Key Vault has no transaction and no
 * conditional update. {@link planStageUpdates} orders them so that each intermediate state, the one a crash
 * leaves, reads as the state before or the state after for every stage: first tags that no longer decide
 * anything are cleaned (no visible change), then the new holders gain their stages (the newer of two holders
 * wins), then the old holders lose them. A `current` therefore always has a readable holder.
 */
import { type Stage, STAGES } from '../secret-reference.js';

export const STAGE_TAG = 'cofre-stage';
export const WRITTEN_TAG = 'cofre-written';
const NO_STAGE = 'none';

/** What the stage logic needs of one version (from `listPropertiesOfSecretVersions`). */
export interface VersionFacts {
  readonly version: string;
  /** Key Vault's created time (whole seconds). */
  readonly createdAt: Date;
  readonly tags: Readonly<Record<string, string>> | undefined;
  /**
   * True for the version Key Vault itself serves as latest, where the caller knows it. Within one second it is the
   * newest: `cofre-written` is the writer's clock, and concurrent writers may reach Key Vault in another order;
   * versions written by other tools carry no `cofre-written` at all.
   */
  readonly latest?: boolean;
}

/** Stages per stage name, and the versions oldest first. */
export interface StageView {
  readonly stages: Partial<Record<Stage, string>>;
  /**
   * Oldest first: Key Vault's created time; within one second Key Vault's latest last (where the caller knows it),
   * then `cofre-written`, then the listing order.
   */
  readonly ordered: readonly VersionFacts[];
}

/** One Update Secret call: the new value of `cofre-stage` on `version` (its other tags are kept). */
export interface TagUpdate {
  readonly version: string;
  readonly stages: readonly Stage[];
}

/** The stages a `cofre-stage` value names; `undefined` when the version has no such tag. Unknown words are dropped. */
export function taggedStages(tags: Readonly<Record<string, string>> | undefined): Stage[] | undefined {
  const value = tags?.[STAGE_TAG];
  if (value === undefined) return undefined;
  const words = new Set(value.split(',').map((w) => w.trim()));
  return STAGES.filter((s) => words.has(s));
}

/** The `cofre-stage` value for a set of stages. */
export function stageTagValue(stages: readonly Stage[]): string {
  const held = STAGES.filter((s) => stages.includes(s));
  return held.length === 0 ? NO_STAGE : held.join(',');
}

/** Versions oldest first (stable for equal keys). */
export function orderVersions(versions: readonly VersionFacts[]): VersionFacts[] {
  const written = (v: VersionFacts): number => {
    const ms = Number(v.tags?.[WRITTEN_TAG]);
    return Number.isSafeInteger(ms) ? ms : 0;
  };
  return versions
    .map((v, index) => ({ v, index }))
    .sort(
      (a, b) =>
        a.v.createdAt.getTime() - b.v.createdAt.getTime() ||
        Number(a.v.latest === true) - Number(b.v.latest === true) ||
        written(a.v) - written(b.v) ||
        a.index - b.index,
    )
    .map(({ v }) => v);
}

/** Which version holds each stage; see the module comment. Pure. */
export function effectiveStages(versions: readonly VersionFacts[]): StageView {
  const ordered = orderVersions(versions);
  const stages: Partial<Record<Stage, string>> = {};
  const managed = ordered.some((v) => taggedStages(v.tags) !== undefined);
  if (!managed) {
    const newest = ordered.at(-1);
    if (newest !== undefined) stages.current = newest.version;
    return { stages, ordered };
  }
  for (const v of ordered) {
    for (const stage of taggedStages(v.tags) ?? []) stages[stage] = v.version;
  }
  return { stages, ordered };
}

/** The stages `version` holds in `stages`, in cofre's order. */
export function stagesOf(stages: Partial<Record<Stage, string>>, version: string): Stage[] {
  return STAGES.filter((s) => stages[s] === version);
}

/**
 * The Update Secret calls that take `versions` from their current effective stages to `target`, in a crash-safe
 * order (see the module comment). Versions whose tag already says the right thing are left alone; untagged
 * versions that hold nothing stay untagged. Pure.
 */
export function planStageUpdates(
  versions: readonly VersionFacts[],
  target: Partial<Record<Stage, string>>,
): TagUpdate[] {
  const { stages: now, ordered } = effectiveStages(versions);
  const updates: TagUpdate[] = [];
  const tag = new Map<string, string | undefined>(
    ordered.map((v) => [
      v.version,
      v.tags?.[STAGE_TAG] === undefined ? undefined : stageTagValue(taggedStages(v.tags) ?? []),
    ]),
  );
  const set = (version: string, stages: readonly Stage[]): void => {
    const value = stageTagValue(stages);
    if (tag.get(version) === value) return;
    tag.set(version, value);
    updates.push({ version, stages: STAGES.filter((s) => stages.includes(s)) });
  };
  const union = (a: readonly Stage[], b: readonly Stage[]): Stage[] =>
    STAGES.filter((s) => a.includes(s) || b.includes(s));
  // 1. An implicit current (the newest version of a secret cofre never staged) is tagged first, so gains below
  //    cannot take current away from it before they are complete. No visible change.
  if (!ordered.some((v) => tag.get(v.version) !== undefined) && now.current !== undefined) {
    set(now.current, ['current']);
  }
  // 2. Stale tags (an older holder of a stage) go, new holders gain their stages while the old ones still hold
  //    them: the newer of two holders decides, so each stage reads as before or as after.
  for (const v of ordered) {
    const held = stagesOf(now, v.version);
    const gains = stagesOf(target, v.version);
    if (tag.get(v.version) === undefined && held.length === 0 && gains.length === 0) continue;
    set(v.version, union(held, gains));
  }
  // 3. Old holders lose them.
  for (const v of ordered) {
    if (tag.get(v.version) === undefined && stagesOf(target, v.version).length === 0) continue;
    set(v.version, stagesOf(target, v.version));
  }
  return updates;
}
