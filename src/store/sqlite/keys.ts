// Key ranges and continue tokens.
//
// Prefixes are literal strings ('/registry/pods/ns/' must not match
// '/registry/pods/ns2/...'), served by an index range key >= lo AND key < hi
// rather than LIKE (which treats % and _ specially and, with the default
// case-insensitive LIKE, cannot use the index).
import { InvalidContinueError, StoreError } from '../store.js';

/** Upper bound greater than every TEXT value: SQLite orders all TEXT before any BLOB. */
const ABOVE_ALL_TEXT = Buffer.from([0xff]);

export interface KeyRange {
  lo: string;
  /** Exclusive upper bound; a BLOB when the prefix has no textual successor. */
  hi: string | Buffer;
}

/**
 * The smallest string greater than every string starting with `prefix`, under
 * SQLite's BINARY collation (memcmp of UTF-8, i.e. code point order — not JS's
 * UTF-16 order, so this works on code points, not code units).
 */
export function prefixRange(prefix: string): KeyRange {
  const points = Array.from(prefix, (ch) => {
    const cp = ch.codePointAt(0) ?? 0;
    if (cp >= 0xd800 && cp <= 0xdfff) {
      throw new StoreError(`key prefix ${JSON.stringify(prefix)} contains a lone UTF-16 surrogate`, prefix);
    }
    return cp;
  });
  // Increment the last code point that can be incremented; drop those after it
  // (they were already the maximum).
  for (let i = points.length - 1; i >= 0; i--) {
    const cp = points[i]!;
    if (cp === 0x10ffff) continue;
    const next = cp === 0xd7ff ? 0xe000 : cp + 1; // skip the surrogate block: not valid in text
    return { lo: prefix, hi: String.fromCodePoint(...points.slice(0, i), next) };
  }
  return { lo: prefix, hi: ABOVE_ALL_TEXT };
}

/** What a continue token carries: where the next page starts, and at which revision. */
export interface ContinuePosition {
  revision: number;
  /** The last key returned; the next page starts strictly after it. */
  lastKey: string;
}

interface TokenBody {
  v: 1;
  rev: number;
  prefix: string;
  last: string;
}

export function encodeContinue(prefix: string, pos: ContinuePosition): string {
  const body: TokenBody = { v: 1, rev: pos.revision, prefix, last: pos.lastKey };
  return Buffer.from(JSON.stringify(body), 'utf8').toString('base64url');
}

export function decodeContinue(prefix: string, token: string): ContinuePosition {
  let body: unknown;
  try {
    body = JSON.parse(Buffer.from(token, 'base64url').toString('utf8'));
  } catch {
    throw new InvalidContinueError(`continue token does not parse (listing ${JSON.stringify(prefix)})`, prefix);
  }
  if (!isTokenBody(body)) {
    throw new InvalidContinueError(`continue token is not a Lodge SQLite token (listing ${JSON.stringify(prefix)})`, prefix);
  }
  if (body.prefix !== prefix || !body.last.startsWith(prefix)) {
    throw new InvalidContinueError(
      `continue token belongs to a list of ${JSON.stringify(body.prefix)}, not ${JSON.stringify(prefix)}`,
      prefix,
    );
  }
  return { revision: body.rev, lastKey: body.last };
}

function isTokenBody(x: unknown): x is TokenBody {
  if (typeof x !== 'object' || x === null) return false;
  const o = x as Record<string, unknown>;
  return (
    o.v === 1 &&
    typeof o.rev === 'number' &&
    Number.isSafeInteger(o.rev) &&
    o.rev > 0 &&
    typeof o.prefix === 'string' &&
    typeof o.last === 'string'
  );
}
