import { parseDays, TIME_RANGE } from '../config/policy-config.js';

/** The `hours` condition of a rule as written in the config. */
export interface HoursConfig {
  readonly days?: string | readonly string[] | undefined;
  readonly time?: string | undefined;
  readonly timeZone: string;
}

const DAY_SHORT = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'] as const;

/**
 * One zone's formatter, and the local time of the last UTC minute asked. Building a DateTimeFormat costs far more
 * than using one, and using one (about 3 µs) dominates a decision: rules in the same zone share both. The local
 * minute is a function of the UTC minute for every offset in use today (all whole minutes), so the cache changes
 * no answer.
 */
interface ZoneClock {
  readonly format: Intl.DateTimeFormat;
  minute: number;
  local: LocalTime | undefined;
}

const ZONES = new Map<string, ZoneClock>();

function clockFor(zone: string): ZoneClock {
  let clock = ZONES.get(zone);
  if (clock === undefined) {
    const format = new Intl.DateTimeFormat('en-US', {
      timeZone: zone,
      weekday: 'short',
      hour: '2-digit',
      minute: '2-digit',
      hourCycle: 'h23',
    });
    clock = { format, minute: Number.NaN, local: undefined };
    ZONES.set(zone, clock);
  }
  return clock;
}

/** A local moment in a time zone, as the `hours` condition sees it. */
export interface LocalTime {
  readonly day: number;
  readonly minutes: number;
  /** E.g. `mon 08:05 Europe/Lisbon`, for reasons and explain. */
  readonly text: string;
}

/**
 * A compiled `hours` condition: the local day of the week and wall-clock time in an IANA zone.
 *
 * Why Intl and not offsets: daylight saving time moves the offset twice a year, and some zones sit at half hours
 * (Asia/Kolkata +05:30); `Intl.DateTimeFormat` knows the zone's rules at every instant. A wall-clock window is
 * evaluated on the local time itself, so "08:00-20:00" stays 08:00-20:00 local across a DST change (the hour that
 * does not exist on spring-forward simply never occurs; the repeated hour on fall-back is inside or outside twice).
 */
export class TimeWindow {
  readonly #clock: ZoneClock;
  /** The IANA zone; windows in one zone share one local time per question. */
  readonly zone: string;
  readonly #days: ReadonlySet<number> | undefined;
  readonly #start: number | undefined;
  readonly #end: number | undefined;
  /** What the condition asks for, e.g. `mon-fri 08:00-20:00 Europe/Lisbon`. */
  readonly description: string;

  constructor(hours: HoursConfig) {
    this.zone = hours.timeZone;
    this.#clock = clockFor(hours.timeZone);
    this.#days = hours.days === undefined ? undefined : parseDays(hours.days);
    const m = hours.time === undefined ? null : TIME_RANGE.exec(hours.time);
    if (m !== null) {
      this.#start = Number(m[1]) * 60 + Number(m[2]);
      this.#end = Number(m[3]) * 60 + Number(m[4]);
    }
    const days =
      hours.days === undefined ? [] : [typeof hours.days === 'string' ? hours.days : hours.days.join(',')];
    this.description = [...days, ...(hours.time === undefined ? [] : [hours.time]), hours.timeZone].join(' ');
  }

  /** The local day and time of `at` in the window's zone. */
  local(at: Date): LocalTime {
    const clock = this.#clock;
    const minuteOf = Math.floor(at.getTime() / 60_000);
    if (clock.local !== undefined && clock.minute === minuteOf) return clock.local;
    let day = 0;
    let hour = 0;
    let minute = 0;
    for (const part of clock.format.formatToParts(at)) {
      if (part.type === 'weekday')
        day = DAY_SHORT.indexOf(part.value.toLowerCase() as (typeof DAY_SHORT)[number]);
      else if (part.type === 'hour') hour = Number(part.value);
      else if (part.type === 'minute') minute = Number(part.value);
    }
    const hh = String(hour).padStart(2, '0');
    const mm = String(minute).padStart(2, '0');
    const local = {
      day,
      minutes: hour * 60 + minute,
      text: `${DAY_SHORT[day] ?? '?'} ${hh}:${mm} ${this.zone}`,
    };
    clock.minute = minuteOf;
    clock.local = local;
    return local;
  }

  /** True when `local` is inside the window: its day is listed and its time is in [start, end). */
  contains(local: LocalTime): boolean {
    if (this.#days !== undefined && !this.#days.has(local.day)) return false;
    if (this.#start === undefined || this.#end === undefined) return true;
    return this.#start < this.#end
      ? local.minutes >= this.#start && local.minutes < this.#end
      : local.minutes >= this.#start || local.minutes < this.#end; // wraps past midnight
  }
}
