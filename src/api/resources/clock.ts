let cachedSecond = -1;
let cachedText = '';

/** Kubernetes timestamps: RFC 3339 with second precision, UTC. Memoized per second: every write stamps one or two. */
export function rfc3339(ms: number = Date.now()): string {
  const second = Math.floor(ms / 1000);
  if (second !== cachedSecond) {
    cachedText = new Date(second * 1000).toISOString().replace('.000Z', 'Z');
    cachedSecond = second;
  }
  return cachedText;
}

/** metav1.MicroTime (Lease acquire/renew times, Events' eventTime): RFC 3339 with microseconds, UTC. */
export function microTime(ms: number = Date.now()): string {
  return new Date(ms).toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}

const NAME_CHARS = 'bcdfghjklmnpqrstvwxz2456789';
/** The 5-character suffix Kubernetes appends to generateName. */
export function nameSuffix(): string {
  let s = '';
  for (let i = 0; i < 5; i++) s += NAME_CHARS[Math.floor(Math.random() * NAME_CHARS.length)];
  return s;
}
