// The console's charts, hand-written as SVG:
// - two small charts (spend against caps, requests over time) do not justify a charting library's weight in a
//   bundle that operators load on a phone;
// - chart libraries commonly set inline `style` attributes, which the console's CSP (no inline styles) refuses;
//   here colours come from classes in console.css and geometry from SVG attributes, which the CSP allows;
// - each chart has a text equivalent (aria-label and a table), which is easier to keep right in our own markup.
import type { JSX } from 'preact';

import type { ActivityJson, LimitUsageJson } from '../../src/surfaces/http/operator-api-types.js';
import { formatDecimal, formatTime, formatWindow, fractionOf } from './format.js';

/** A horizontal bar of used / cap, for one limit. */
export function UsageBar(props: {
  readonly used: string;
  readonly cap: string;
  readonly label: string;
}): JSX.Element {
  const fraction = fractionOf(props.used, props.cap);
  const level = levelOf(fraction);
  return (
    <svg class="usage-bar" viewBox="0 0 100 8" preserveAspectRatio="none" role="img" aria-label={props.label}>
      <rect class="bar-track" x="0" y="0" width="100" height="8" rx="2" />
      <rect
        class={`bar-fill bar-${level}`}
        x="0"
        y="0"
        width={(fraction * 100).toFixed(2)}
        height="8"
        rx="2"
      />
    </svg>
  );
}

/**
 * Spend in each window against its cap: one row per notional or withdrawal limit, its bar drawn as a share of the
 * cap (the dashed line at 100 %, a grid line at 50 %). Labels and numbers are HTML beside each bar, so they keep
 * their size on a phone where a whole-chart SVG would shrink them; the rows stack there.
 */
export function SpendChart(props: { readonly limits: readonly LimitUsageJson[] }): JSX.Element {
  const limits = props.limits.filter((l) => l.measure === 'notional' || l.measure === 'withdrawals');
  if (limits.length === 0) return <p class="empty">No spend limits in the policies.</p>;
  return (
    <figure class="chart">
      <figcaption class="chart-title">Spend per window against its cap (the dashed line at 100 %)</figcaption>
      <ul class="spend-rows">
        {limits.map((l) => {
          const fraction = fractionOf(l.used, l.cap);
          return (
            <li key={l.key} class="spend-row">
              <span class="spend-label">
                {l.limit} · {formatWindow(l.windowMs)} <span class="muted">({l.scope})</span>
              </span>
              <svg class="spend-bar" viewBox="0 0 104 10" preserveAspectRatio="none" aria-hidden="true">
                <rect class="bar-track" x="0" y="1" width="100" height="8" />
                <rect
                  class={`bar-fill bar-${levelOf(fraction)}`}
                  x="0"
                  y="1"
                  width={fraction * 100}
                  height="8"
                />
                <line class="chart-grid" x1="50" x2="50" y1="0" y2="10" vector-effect="non-scaling-stroke" />
                <line class="chart-cap" x1="100" x2="100" y1="0" y2="10" vector-effect="non-scaling-stroke" />
              </svg>
              <span class="spend-value">
                {Math.round(fraction * 100)}% · {formatDecimal(l.used)} / {formatDecimal(l.cap)}{' '}
                {l.unit ?? ''}
              </span>
            </li>
          );
        })}
      </ul>
    </figure>
  );
}

/** How full a budget is, for its bar's colour: green, amber from 70 %, red from 90 %. */
function levelOf(fraction: number): 'low' | 'mid' | 'high' {
  return fraction >= 0.9 ? 'high' : fraction >= 0.7 ? 'mid' : 'low';
}

const SERIES = [
  { key: 'executed', label: 'Executed' },
  { key: 'pendingApproval', label: 'Waiting for approval' },
  { key: 'failed', label: 'Failed' },
  { key: 'denied', label: 'Denied' },
] as const;

/** Requests per time bucket, stacked by outcome, oldest on the left. */
export function ActivityChart(props: { readonly activity: ActivityJson }): JSX.Element {
  const { buckets } = props.activity;
  const totals = buckets.map((b) => b.executed + b.denied + b.failed + b.pendingApproval);
  // An even whole number, so the middle grid line is a whole count too.
  const max = Math.max(2, Math.ceil(Math.max(...totals, 0) / 2) * 2);
  const height = 140;
  const top = 12;
  const left = 36;
  const step = 24;
  const bar = 16;
  const width = left + Math.max(1, buckets.length) * step;
  const y = (count: number): number => top + height * (1 - count / max);
  const sum = (key: (typeof SERIES)[number]['key']): number => buckets.reduce((n, b) => n + b[key], 0);
  const label = `Requests over the last ${formatWindow(props.activity.windowMs)} per ${formatWindow(props.activity.bucketMs)}: ${SERIES.map((s) => `${sum(s.key)} ${s.label.toLowerCase()}`).join(', ')}`;
  const labelEvery = Math.max(1, Math.ceil(buckets.length / 8));
  return (
    <figure class="chart">
      <svg
        class="chart-svg chart-wide"
        viewBox={`0 0 ${width} ${top + height + 24}`}
        role="img"
        aria-label={label}
      >
        {[0, max / 2, max].map((tick) => (
          <g key={tick}>
            <line class="chart-grid" x1={left} x2={width} y1={y(tick)} y2={y(tick)} />
            <text class="chart-axis" x={left - 6} y={y(tick) + 4} text-anchor="end">
              {String(tick)}
            </text>
          </g>
        ))}
        {buckets.map((b, index) => {
          const x = left + index * step + (step - bar) / 2;
          let base = 0;
          return (
            <g key={b.start}>
              {SERIES.map((s) => {
                const count = b[s.key];
                if (count === 0) return null;
                const rect = (
                  <rect
                    key={s.key}
                    class={`series-${s.key}`}
                    x={x}
                    y={y(base + count)}
                    width={bar}
                    height={y(base) - y(base + count)}
                  />
                );
                base += count;
                return rect;
              })}
              {index % labelEvery === 0 ? (
                <text class="chart-axis" x={x + bar / 2} y={top + height + 16} text-anchor="middle">
                  {formatTime(b.start).slice(11, 16)}
                </text>
              ) : null}
            </g>
          );
        })}
      </svg>
      <figcaption>
        <ul class="legend">
          {SERIES.map((s) => (
            <li key={s.key}>
              <span class={`swatch series-${s.key}`} aria-hidden="true" /> {s.label}: {sum(s.key)}
            </li>
          ))}
        </ul>
      </figcaption>
    </figure>
  );
}
