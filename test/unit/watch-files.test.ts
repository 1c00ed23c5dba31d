import { describe, expect, it } from 'vitest';
import { fileChanged } from '../../src/tls.js';

// What the token-file and certificate watch compares between two looks at a file.
describe('file watch', () => {
  const before = { mtimeMs: 1_000, ctimeMs: 1_000, size: 54, ino: 7 };

  it('sees a file rewritten within one clock tick: same time, other size', () => {
    expect(fileChanged({ ...before, size: 27 }, before)).toBe(true);
  });

  it('sees a new file renamed over the old one in the same tick', () => {
    expect(fileChanged({ ...before, ino: 8 }, before)).toBe(true);
  });

  it('sees a change of time, and nothing when nothing changed', () => {
    expect(fileChanged({ ...before, mtimeMs: 1_004, ctimeMs: 1_004 }, before)).toBe(true);
    expect(fileChanged({ ...before }, before)).toBe(false);
  });
});
