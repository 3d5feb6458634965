// Human units in the config file ("90s", "6h", "4g") turned into the numbers Docker and timers take.

const DURATION = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?$/;
const DURATION_MS = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

/** Milliseconds of "500ms", "90s", "5m", "6h", "1d", or a bare number of seconds; undefined when unreadable. */
export function parseDuration(value: string | number): number | undefined {
  if (typeof value === 'number') return value >= 0 ? value * 1_000 : undefined;
  const m = DURATION.exec(value.trim());
  if (!m) return undefined;
  return Math.round(Number(m[1]) * DURATION_MS[(m[2] ?? 's') as keyof typeof DURATION_MS]);
}

const BYTES = /^(\d+(?:\.\d+)?)\s*([kmgt]i?b?|b)?$/i;
const BYTE_POWER: Record<string, number> = { b: 0, k: 1, m: 2, g: 3, t: 4 };

/** Bytes of "512m", "4g", "1.5GiB" (binary units, as `docker run --memory` reads them), or a bare number of bytes. */
export function parseBytes(value: string | number): number | undefined {
  if (typeof value === 'number') return value > 0 ? Math.round(value) : undefined;
  const m = BYTES.exec(value.trim());
  if (!m) return undefined;
  const unit = (m[2] ?? 'b')[0]!.toLowerCase();
  return Math.round(Number(m[1]) * 1024 ** BYTE_POWER[unit]!);
}
