// A policy rule as the broker names it, `policies.trader.rules[1] (large)`: the rule's own name first, where it
// sits in the config after it, so a person reads "large" and can still find it in cofre.yaml.
import type { JSX } from 'preact';

import { ruleParts } from './format.js';

/** A rule's name in bold, its place in the config after it (or in a tooltip, `compact`). */
export function RuleName(props: {
  readonly rule: string | null;
  /** In a table: the name only, the whole text in a tooltip. */
  readonly compact?: boolean;
}): JSX.Element {
  if (props.rule === null) return <span>—</span>;
  const { name, path } = ruleParts(props.rule);
  if (path === undefined) return <strong class="rule-name">{name}</strong>;
  if (props.compact === true) {
    return (
      <strong class="rule-name" title={props.rule}>
        {name}
      </strong>
    );
  }
  return (
    <>
      <strong class="rule-name">{name}</strong> <span class="rule-path">({path})</span>
    </>
  );
}
