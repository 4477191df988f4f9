import { describe, expect, it } from 'vitest';

import { TimeWindow } from './time-window.js';

const inside = (window: TimeWindow, iso: string): boolean => window.contains(window.local(new Date(iso)));

describe('TimeWindow', () => {
  it('keeps 08:00-20:00 on local wall time across the Lisbon spring-forward change', () => {
    const w = new TimeWindow({ time: '08:00-20:00', timeZone: 'Europe/Lisbon' });
    // Friday 27 March 2026: WET, UTC+0.
    expect(inside(w, '2026-03-27T07:30:00Z')).toBe(false);
    expect(inside(w, '2026-03-27T08:00:00Z')).toBe(true);
    expect(inside(w, '2026-03-27T19:59:00Z')).toBe(true);
    // Monday 30 March 2026: WEST, UTC+1 — the same local hours are an hour earlier in UTC.
    expect(inside(w, '2026-03-30T07:30:00Z')).toBe(true);
    expect(inside(w, '2026-03-30T19:00:00Z')).toBe(false);
  });

  it('never opens a window inside the hour that spring-forward skips', () => {
    const w = new TimeWindow({ time: '01:00-02:00', timeZone: 'Europe/Lisbon' });
    expect(w.local(new Date('2026-03-29T00:59:00Z')).text).toBe('sun 00:59 Europe/Lisbon');
    expect(w.local(new Date('2026-03-29T01:00:00Z')).text).toBe('sun 02:00 Europe/Lisbon');
    for (const iso of [
      '2026-03-29T00:30:00Z',
      '2026-03-29T00:59:00Z',
      '2026-03-29T01:00:00Z',
      '2026-03-29T01:30:00Z',
    ])
      expect(inside(w, iso)).toBe(false);
  });

  it('is open both times the repeated hour of fall-back occurs', () => {
    const w = new TimeWindow({ time: '01:00-02:00', timeZone: 'Europe/Lisbon' });
    expect(inside(w, '2026-10-25T00:30:00Z')).toBe(true); // 01:30 WEST
    expect(inside(w, '2026-10-25T01:30:00Z')).toBe(true); // 01:30 WET, again
    expect(inside(w, '2026-10-25T02:00:00Z')).toBe(false); // 02:00 WET
  });

  it('handles zones at half-hour offsets, with and without daylight saving time', () => {
    const kolkata = new TimeWindow({ time: '09:00-17:30', timeZone: 'Asia/Kolkata' }); // UTC+05:30
    expect(inside(kolkata, '2026-06-01T03:29:00Z')).toBe(false);
    expect(inside(kolkata, '2026-06-01T03:30:00Z')).toBe(true);
    expect(inside(kolkata, '2026-06-01T12:00:00Z')).toBe(false);
    // Adelaide: UTC+10:30 in January (summer time), UTC+09:30 in July; the local day is Monday while UTC says Sunday.
    const adelaide = new TimeWindow({ days: 'mon-fri', time: '09:00-17:00', timeZone: 'Australia/Adelaide' });
    expect(inside(adelaide, '2026-01-04T22:30:00Z')).toBe(true);
    expect(inside(adelaide, '2026-01-04T22:29:00Z')).toBe(false);
    expect(inside(adelaide, '2026-07-05T23:30:00Z')).toBe(true);
    expect(inside(adelaide, '2026-07-05T22:30:00Z')).toBe(false);
  });

  it('reads days in the zone, and wraps a window past midnight', () => {
    const night = new TimeWindow({ days: ['fri', 'sat'], time: '22:00-06:00', timeZone: 'UTC' });
    expect(inside(night, '2026-06-05T23:00:00Z')).toBe(true); // Friday 23:00
    expect(inside(night, '2026-06-06T05:59:00Z')).toBe(true); // Saturday 05:59
    expect(inside(night, '2026-06-06T06:00:00Z')).toBe(false);
    expect(inside(night, '2026-06-07T01:00:00Z')).toBe(false); // Sunday: not a listed day
    const allDay = new TimeWindow({ days: 'sat-sun', timeZone: 'Europe/Lisbon' });
    expect(inside(allDay, '2026-06-06T23:30:00Z')).toBe(true); // Sunday 00:30 in Lisbon, still Saturday in UTC
    expect(inside(allDay, '2026-06-07T23:30:00Z')).toBe(false); // Monday 00:30 in Lisbon
  });

  it('ends a window at 24:00', () => {
    const w = new TimeWindow({ time: '20:00-24:00', timeZone: 'UTC' });
    expect(inside(w, '2026-06-01T23:59:00Z')).toBe(true);
    expect(inside(w, '2026-06-02T00:00:00Z')).toBe(false);
  });
});
