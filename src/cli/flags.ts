// Flag value parsers shared by the commands. They throw commander's
// InvalidArgumentError so the message names the flag.
import { InvalidArgumentError } from 'commander';

/** kubectl's boolean flags take "=true"/"=false"; a bare flag means true. */
export function parseBool(value: string | undefined): boolean {
  if (value === undefined) return true;
  const v = value.toLowerCase();
  if (v === 'true' || v === '1' || v === 'yes') return true;
  if (v === 'false' || v === '0' || v === 'no') return false;
  throw new InvalidArgumentError(`invalid boolean "${value}": use true or false`);
}

export function parseInteger(value: string): number {
  if (!/^-?\d+$/.test(value.trim())) throw new InvalidArgumentError(`invalid integer "${value}"`);
  return Number(value);
}

/** Repeatable string flags (-f a -f b). No default array, so help shows none. */
export function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}
