import { describe, expect, it } from 'vitest';
import { formatInZone, isTimeZone, parseInZone } from '../../src/util/zone-time.js';

describe('zone times', () => {
  it('read and write a wall-clock time of a zone, in winter and in summer', () => {
    expect(parseInZone('2026-11-26 11:00:00', 'Europe/Zurich')).toBe(Date.parse('2026-11-26T10:00:00Z'));
    expect(parseInZone('2026-07-01 14:30:05', 'Europe/Zurich')).toBe(Date.parse('2026-07-01T12:30:05Z'));
    expect(formatInZone(Date.parse('2026-11-26T10:00:00Z'), 'Europe/Zurich')).toBe('2026-11-26 11:00:00');
    expect(formatInZone(Date.parse('2026-07-01T12:30:05Z'), 'Europe/Zurich')).toBe('2026-07-01 14:30:05');
    expect(parseInZone('2026-07-01T14:30', 'UTC')).toBe(Date.parse('2026-07-01T14:30:00Z'));
  });

  it('around the changes of the clock: a skipped time after it, a repeated one the earlier', () => {
    // 2026-03-29 02:30 does not exist in Zurich (02:00 -> 03:00).
    expect(parseInZone('2026-03-29 02:30:00', 'Europe/Zurich')).toBe(Date.parse('2026-03-29T01:30:00Z'));
    // 2026-10-25 02:30 happens twice (03:00 -> 02:00): the first, still in summer time.
    expect(parseInZone('2026-10-25 02:30:00', 'Europe/Zurich')).toBe(Date.parse('2026-10-25T00:30:00Z'));
    expect(parseInZone('2026-10-25 01:59:59', 'Europe/Zurich')).toBe(Date.parse('2026-10-24T23:59:59Z'));
    expect(parseInZone('2026-10-25 03:00:00', 'Europe/Zurich')).toBe(Date.parse('2026-10-25T02:00:00Z'));
  });

  it('round-trips every quarter hour of a year', () => {
    const start = Date.parse('2026-01-01T00:00:00Z');
    for (let ms = start; ms < start + 365 * 86_400_000; ms += 900_000) {
      const text = formatInZone(ms, 'Europe/Zurich');
      const back = parseInZone(text, 'Europe/Zurich')!;
      // A repeated hour reads as its first occurrence.
      expect(formatInZone(back, 'Europe/Zurich')).toBe(text);
    }
  });

  it('refuses other texts and unknown zones', () => {
    expect(parseInZone('26.11.2026 11:00', 'Europe/Zurich')).toBeUndefined();
    expect(isTimeZone('Europe/Zurich')).toBe(true);
    expect(isTimeZone('Mars/Olympus')).toBe(false);
  });
});
