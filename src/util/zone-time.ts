/**
 * Local wall-clock times of an IANA time zone (`2026-11-26 11:00:00` in Europe/Zurich), as some
 * APIs give and take them, to and from epoch milliseconds; by Intl, no time zone data of its own.
 */

const formats = new Map<string, Intl.DateTimeFormat>();

function formatOf(timeZone: string): Intl.DateTimeFormat {
  let format = formats.get(timeZone);
  if (!format) {
    format = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
    });
    formats.set(timeZone, format);
  }
  return format;
}

/** Whether Intl knows the zone. */
export function isTimeZone(timeZone: string): boolean {
  try {
    formatOf(timeZone);
    return true;
  } catch {
    return false;
  }
}

function fields(ms: number, timeZone: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const part of formatOf(timeZone).formatToParts(new Date(ms))) {
    if (part.type !== 'literal') out[part.type] = Number(part.value);
  }
  return out;
}

/** How far the zone's clock is ahead of UTC at `ms`. */
function offsetAt(ms: number, timeZone: string): number {
  const f = fields(ms, timeZone);
  const wall = Date.UTC(f['year']!, f['month']! - 1, f['day']!, f['hour']!, f['minute']!, f['second']!);
  return wall - Math.floor(ms / 1000) * 1000;
}

const pad = (value: number, size = 2) => String(value).padStart(size, '0');

/** `YYYY-MM-DD HH:MM:SS` on the zone's clock at `ms`. */
export function formatInZone(ms: number, timeZone: string): string {
  const f = fields(ms, timeZone);
  return `${pad(f['year']!, 4)}-${pad(f['month']!)}-${pad(f['day']!)} ${pad(f['hour']!)}:${pad(f['minute']!)}:${pad(f['second']!)}`;
}

/**
 * Epoch ms of `YYYY-MM-DD HH:MM:SS` (or `T` between, seconds optional) on the zone's clock; a time
 * the clock skips (spring forward) is read after the change, one it shows twice (fall back) is the
 * earlier. Undefined for another text.
 */
export function parseInZone(text: string, timeZone: string): number | undefined {
  const match = /^(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2})(?::(\d{2}))?$/.exec(text.trim());
  if (!match) return undefined;
  const [, y, mo, d, h, mi, s] = match.map(Number) as number[];
  const wall = Date.UTC(y!, mo! - 1, d!, h!, mi!, Number.isNaN(s) ? 0 : s!);
  if (Number.isNaN(wall)) return undefined;
  // The zone's offsets a day before and after: one of them holds at the time, unless the clock
  // skipped it; both when the clock showed it twice.
  const before = wall - offsetAt(wall - 86_400_000, timeZone);
  const after = wall - offsetAt(wall + 86_400_000, timeZone);
  const shown = [before, after].filter((ms) => formatInZone(ms, timeZone) === formatInZone(wall, 'UTC'));
  return shown.length > 0 ? Math.min(...shown) : before;
}
