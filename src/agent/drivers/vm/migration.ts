// A VM's memory and device state to a file and back, with QEMU's migration
// (QEMU 7.2 has no file: URI, so the stream goes through `exec:cat`). The
// save side runs with the vCPUs stopped, so it is one pass over RAM (no
// dirty-page rounds) and the state is the one of the moment `stop` took
// effect; the load side is a QEMU started with `-incoming defer`, fed the
// same file. Passing an fd (getfd + fd:) would avoid the shell, but it needs
// SCM_RIGHTS on the QMP socket, which Node's net module cannot send; the
// path is single-quoted instead, which leaves the shell nothing to expand.
import { open, readFile } from 'node:fs/promises';
import type { QmpClient } from './qmp/index.js';

/** What query-migrate answers (the fields used here). */
export interface MigrationInfo {
  status?: string;
  'error-desc'?: string;
  ram?: { transferred?: number; total?: number };
}

/** The first bytes of every QEMU migration stream: QEMU_VM_FILE_MAGIC ("QEVM") and version 3. */
const STATE_MAGIC = Buffer.from([0x51, 0x45, 0x56, 0x4d, 0x00, 0x00, 0x00, 0x03]);
const POLL_FIRST_MS = 5;
const POLL_MAX_MS = 50;

/** A string as one shell word: single quotes, with each ' written as '\''. Nothing inside single quotes is expanded. */
export function shellQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/** The outgoing URI that writes the stream to `file` (absolute: QEMU runs daemonized, in /). */
export const saveUri = (file: string): string => `exec:cat > ${shellQuote(file)}`;
/** The incoming URI that reads the stream from `file`. */
export const loadUri = (file: string): string => `exec:cat ${shellQuote(file)}`;

/**
 * Settings for a save to a local file of a stopped guest: no bandwidth cap
 * (QEMU's default is 32 MiB/s, which is for a network shared with others)
 * and a downtime limit so large that QEMU goes straight to the final,
 * unthrottled pass; the guest is stopped anyway, so there is no downtime to
 * bound. Compression and multifd are left off: compression costs more CPU
 * than the local disk saves, and multifd needs a socket URI.
 */
export async function tuneForLocalSave(qmp: QmpClient): Promise<void> {
  await qmp.execute('migrate-set-parameters', { 'max-bandwidth': 2 ** 40, 'downtime-limit': 2_000_000 });
}

/**
 * Poll query-migrate until the migration completed; failed or cancelled
 * rejects with QEMU's reason, and so does running out of time (the caller
 * cancels). Polling rather than MIGRATION events: it needs no capability set
 * and a missed event cannot hang it.
 */
export async function waitMigration(qmp: QmpClient, timeoutMs: number, what: string): Promise<MigrationInfo> {
  const deadline = Date.now() + timeoutMs;
  for (let delay = POLL_FIRST_MS; ; delay = Math.min(delay * 2, POLL_MAX_MS)) {
    const info = await qmp.execute<MigrationInfo>('query-migrate');
    if (info.status === 'completed') return info;
    if (info.status === 'failed' || info.status === 'cancelled') throw new Error(`${what}: migration ${info.status}${info['error-desc'] ? `: ${info['error-desc']}` : ''}`);
    if (Date.now() >= deadline) throw new Error(`${what}: not complete within ${timeoutMs} ms (migration status ${info.status ?? 'none'})`);
    await new Promise((r) => setTimeout(r, delay));
  }
}

/** Make what cat wrote durable: a state file that a crash leaves half-written would restore a broken guest. */
export async function syncFile(file: string): Promise<number> {
  const fh = await open(file, 'r');
  try {
    await fh.sync();
    return (await fh.stat()).size;
  } finally {
    await fh.close();
  }
}

/**
 * Check that `file` can be a state file before QEMU is told to load it: QEMU
 * waits for ever on a stream that never starts (cat of a missing file), and
 * on a bad one exits with its reason only in its log.
 */
export async function checkStateFile(file: string): Promise<void> {
  let fh;
  try {
    fh = await open(file, 'r');
  } catch (e) {
    throw new Error(`state file ${file}: ${(e as Error).message}`);
  }
  try {
    const head = Buffer.alloc(STATE_MAGIC.length);
    const { bytesRead } = await fh.read(head, 0, head.length, 0);
    if (bytesRead < head.length || !head.equals(STATE_MAGIC)) throw new Error(`state file ${file} is not a QEMU migration stream (no QEVM v3 header)`);
  } finally {
    await fh.close();
  }
}

/** The last lines of QEMU's own log (-D): where QEMU writes why an incoming migration failed before it exits. */
export async function qemuLogTail(path: string, lines = 5): Promise<string> {
  const text = await readFile(path, 'utf8').catch(() => '');
  return text.trim().split('\n').slice(-lines).join('; ');
}
