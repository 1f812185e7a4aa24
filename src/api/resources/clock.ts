/** Kubernetes timestamps: RFC 3339 with second precision, UTC. */
export function rfc3339(ms: number = Date.now()): string {
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace('.000Z', 'Z');
}

const NAME_CHARS = 'bcdfghjklmnpqrstvwxz2456789';
/** The 5-character suffix Kubernetes appends to generateName. */
export function nameSuffix(): string {
  let s = '';
  for (let i = 0; i < 5; i++) s += NAME_CHARS[Math.floor(Math.random() * NAME_CHARS.length)];
  return s;
}
