// Small process and file helpers shared by the driver's operations.
import { access, readFile, stat } from 'node:fs/promises';

export const exists = (path: string): Promise<boolean> => access(path).then(
  () => true,
  () => false,
);

export async function readText(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
}

export async function readPid(path: string): Promise<number | undefined> {
  const n = Number((await readText(path))?.trim());
  return Number.isInteger(n) && n > 0 ? n : undefined;
}

/**
 * Whether pid is a live (not zombie) process whose argv contains every one
 * of `argvHas` — a pid file can outlive its process and the pid be reused,
 * so we never signal a pid on the file's word alone.
 */
export async function processMatches(pid: number, argvHas: string[]): Promise<boolean> {
  const cmdline = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
  if (!cmdline) return false; // gone, or a zombie (empty cmdline)
  const argv = cmdline.split('\0');
  return argvHas.every((a) => argv.includes(a));
}

/** Poll cond until true or timeout; short first intervals because most waits are short. Returns whether cond held. */
export async function waitFor(cond: () => Promise<boolean>, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (let delay = 2; ; delay = Math.min(delay * 2, 50)) {
    if (await cond()) return true;
    if (Date.now() >= deadline) return false;
    await new Promise((r) => setTimeout(r, Math.min(delay, Math.max(1, deadline - Date.now()))));
  }
}

export async function mtimeIso(path: string): Promise<string | undefined> {
  const s = await stat(path).catch(() => undefined);
  return s?.mtime.toISOString();
}

/** map with at most `limit` calls in flight (each state() runs runc; a node may have hundreds). */
export async function mapLimit<T, R>(items: T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

/** Whether a process with this pid exists (EPERM: it does, owned by someone else). */
export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}
