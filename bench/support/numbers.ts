// Small number helpers: a seeded PRNG, rounding, percentiles.

/** Small deterministic PRNG (mulberry32). */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** 0…length-1 in an order fixed by the seed (Fisher-Yates). */
export function shuffled(length: number, seed: number): number[] {
  const order = Array.from({ length }, (_, i) => i);
  const random = prng(seed);
  for (let i = order.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  return order;
}

export function round(value: number, digits?: number): number;
export function round(value: number | null | undefined, digits?: number): number | null;
export function round(value: number | null | undefined, digits = 2): number | null {
  return value === null || value === undefined ? null : Math.round(value * 10 ** digits) / 10 ** digits;
}

/** The p-quantile (0…1) of ascending values, rounded; null when there are none. */
export function quantile(sorted: ArrayLike<number>, p: number): number | null {
  if (sorted.length === 0) return null;
  return round(sorted[Math.max(0, Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1))]!);
}

export function median(list: readonly number[]): number | null {
  if (list.length === 0) return null;
  const sorted = [...list].sort((a, b) => a - b);
  return round(sorted[Math.floor(sorted.length / 2)]!);
}

/** 1234567 → "1,234,567"; n/a for nothing. */
export const num = (n: number | null | undefined): string =>
  n === null || n === undefined ? 'n/a' : n.toLocaleString('en-US');
