// The console's tables and status badges, one shape everywhere: a scrollable wrapper (a phone scrolls a wide table
// sideways instead of squeezing it), column headers with `scope="col"`, and an optional caption for screen readers.
import type { ComponentChildren, JSX } from 'preact';

/**
 * A table of `columns` (header texts; an empty one is an actions column, named for screen readers only) whose body
 * is `children` (the rows).
 */
export function DataTable(props: {
  readonly columns: readonly string[];
  readonly caption?: string;
  readonly class?: string;
  readonly children: ComponentChildren;
}): JSX.Element {
  return (
    <div class="table-wrap">
      <table class={props.class === undefined ? 'table' : `table ${props.class}`}>
        {props.caption === undefined ? null : <caption class="visually-hidden">{props.caption}</caption>}
        <thead>
          <tr>
            {props.columns.map((column, i) => (
              <th scope="col" key={i}>
                {column === '' ? <span class="visually-hidden">Actions</span> : column}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>{props.children}</tbody>
      </table>
    </div>
  );
}

/** A request's, approval's, agent's or operator's status as a coloured badge (`executed`, `pending approval`, …). */
export function StatusBadge(props: { readonly status: string }): JSX.Element {
  return <span class={`status status-${props.status}`}>{props.status.replace('_', ' ')}</span>;
}
