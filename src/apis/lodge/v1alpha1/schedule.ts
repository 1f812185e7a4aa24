// Cron schedules and retention durations of automatic snapshots.
const MACROS = new Set(['@yearly', '@annually', '@monthly', '@weekly', '@daily', '@midnight', '@hourly']);
const FIELD_RANGES: Array<[number, number]> = [
  [0, 59], // minute
  [0, 23], // hour
  [1, 31], // day of month
  [1, 12], // month
  [0, 7], // day of week (0 and 7 are Sunday)
];
const NAMES: Array<Record<string, number>> = [
  {},
  {},
  {},
  Object.fromEntries(['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'].map((m, i) => [m, i + 1])),
  Object.fromEntries(['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'].map((d, i) => [d, i])),
];

function value(v: string, i: number): number | undefined {
  const named = NAMES[i][v.toLowerCase()];
  if (named !== undefined) return named;
  return /^\d+$/.test(v) ? Number(v) : undefined;
}

function fieldProblem(f: string, i: number): string | undefined {
  const [lo, hi] = FIELD_RANGES[i];
  for (const part of f.split(',')) {
    const [range, step] = part.split('/');
    if (step !== undefined && !/^[1-9]\d*$/.test(step)) return `bad step in "${part}"`;
    if (range === '*') continue;
    const bounds = range.split('-');
    if (bounds.length > 2) return `bad range "${range}"`;
    for (const b of bounds) {
      const n = value(b, i);
      if (n === undefined || n < lo || n > hi) return `"${b}" is out of range ${lo}-${hi}`;
    }
    // cron-parser (the scheduler) takes no wrapping ranges: say so here rather than never firing.
    if (bounds.length === 2 && (value(bounds[0], i) ?? 0) > (value(bounds[1], i) ?? 0)) return `range "${range}" runs backwards`;
  }
  return undefined;
}

/** A standard 5-field cron expression or one of @hourly, @daily, ...; undefined when valid. */
export function cronProblem(expr: string): string | undefined {
  const e = expr.trim();
  if (MACROS.has(e)) return undefined;
  const fields = e.split(/\s+/);
  if (fields.length !== 5) return 'must be 5 fields (minute hour day-of-month month day-of-week) or a macro like @daily';
  for (let i = 0; i < 5; i++) {
    const p = fieldProblem(fields[i], i);
    if (p) return p;
  }
  return undefined;
}

const UNIT_SECONDS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400, w: 604800 };

/** "7d", "12h", "1w2d", "90m" → seconds; undefined if malformed. */
export function parseDuration(v: string): number | undefined {
  if (!/^(\d+[smhdw])+$/.test(v)) return undefined;
  let total = 0;
  for (const m of v.matchAll(/(\d+)([smhdw])/g)) total += Number(m[1]) * UNIT_SECONDS[m[2]];
  return total;
}
