// The host must route between the bridge and its uplink (net.ipv4.ip_forward).
// Lodge turns it on only if it is off, and records what it found in a state
// file first, so removing Lodge's network puts the host back as it was —
// also after an agent crash in between (the record is on disk before the change).
//
// The sysctl is host-wide, but several Lodge networks can live on one host
// (test clusters in their own data dirs, test files running in parallel): the
// record lists its holders, and only the last one to leave restores the value.
// Its default home is /run, which is emptied at boot exactly when the sysctl
// goes back to its boot value, so a record never outlives what it describes.
import { pidAlive as alive } from '../drivers/container/proc.js';
import { mkdir, open, readFile, rename, unlink, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';

export const IPV4_FORWARD = '/proc/sys/net/ipv4/ip_forward';
export const DEFAULT_FORWARD_STATE = '/run/lodge/ip_forward.json';

interface ForwardRecord {
  /** The value before Lodge first enabled forwarding ("0" or "1"). */
  previous: string;
  /** Who needs forwarding on (a node's data dir, a test's table name). */
  holders: string[];
}

export interface ForwardOptions {
  /** Who asks; the same holder enabling twice counts once. */
  holder: string;
  /** Default DEFAULT_FORWARD_STATE; share it between every Lodge network on the host. */
  stateFile?: string;
  /** The sysctl file; tests point it elsewhere. */
  sysctl?: string;
}

async function readSysctl(path: string): Promise<string> {
  try {
    return (await readFile(path, 'utf8')).trim();
  } catch (e) {
    throw new Error(`ip forwarding: cannot read ${path}: ${(e as Error).message}`);
  }
}

async function writeSysctl(path: string, value: string): Promise<void> {
  try {
    await writeFile(path, `${value}\n`);
  } catch (e) {
    throw new Error(`ip forwarding: cannot set ${path} to ${value}: ${(e as Error).message}`);
  }
}

async function readRecord(stateFile: string): Promise<ForwardRecord | undefined> {
  try {
    return JSON.parse(await readFile(stateFile, 'utf8')) as ForwardRecord;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new Error(`ip forwarding: unreadable state file ${stateFile}: ${(e as Error).message}`);
  }
}

async function writeRecord(stateFile: string, rec: ForwardRecord): Promise<void> {
  const tmp = `${stateFile}.tmp-${process.pid}`;
  await writeFile(tmp, JSON.stringify(rec) + '\n');
  await rename(tmp, stateFile);
}

/**
 * Other processes share the record: a lock file (O_EXCL) around each
 * read-modify-write. A lock left by a dead process is taken over.
 */
async function withLock<T>(stateFile: string, fn: () => Promise<T>): Promise<T> {
  await mkdir(dirname(stateFile), { recursive: true });
  const lock = `${stateFile}.lock`;
  for (let i = 0; ; i++) {
    try {
      const fh = await open(lock, 'wx');
      await fh.writeFile(String(process.pid));
      await fh.close();
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw new Error(`ip forwarding: cannot lock ${lock}: ${(e as Error).message}`);
      const owner = Number(await readFile(lock, 'utf8').catch(() => ''));
      if (owner > 0 && !alive(owner)) await unlink(lock).catch(() => undefined);
      else if (i > 400) throw new Error(`ip forwarding: ${lock} held by pid ${owner || '?'} for over 2 s`);
      else await new Promise((r) => setTimeout(r, 5));
    }
  }
  try {
    return await fn();
  } finally {
    await unlink(lock).catch(() => undefined);
  }
}


/** Forwarding on for `holder`. Returns whether this call changed the sysctl, and the value before Lodge. */
export function enableIpForward(opts: ForwardOptions): Promise<{ changed: boolean; previous: string }> {
  const stateFile = opts.stateFile ?? DEFAULT_FORWARD_STATE;
  const sysctl = opts.sysctl ?? IPV4_FORWARD;
  return withLock(stateFile, async () => {
    const current = await readSysctl(sysctl);
    // Recorded even when already on: then restoring knows to leave it on.
    const rec = (await readRecord(stateFile)) ?? { previous: current, holders: [] };
    if (!rec.holders.includes(opts.holder)) {
      rec.holders.push(opts.holder);
      await writeRecord(stateFile, rec);
    }
    if (current === '1') return { changed: false, previous: rec.previous };
    await writeSysctl(sysctl, '1');
    return { changed: true, previous: rec.previous };
  });
}

/**
 * `holder` no longer needs forwarding; the last holder puts the sysctl back as
 * it was before Lodge and removes the record. False when `holder` held nothing.
 */
export function restoreIpForward(opts: ForwardOptions): Promise<boolean> {
  const stateFile = opts.stateFile ?? DEFAULT_FORWARD_STATE;
  const sysctl = opts.sysctl ?? IPV4_FORWARD;
  return withLock(stateFile, async () => {
    const rec = await readRecord(stateFile);
    if (!rec || !rec.holders.includes(opts.holder)) return false;
    rec.holders = rec.holders.filter((h) => h !== opts.holder);
    if (rec.holders.length) {
      await writeRecord(stateFile, rec);
      return true;
    }
    if ((await readSysctl(sysctl)) !== rec.previous) await writeSysctl(sysctl, rec.previous);
    await unlink(stateFile).catch((e: NodeJS.ErrnoException) => {
      if (e.code !== 'ENOENT') throw new Error(`ip forwarding: cannot remove state file ${stateFile}: ${e.message}`);
    });
    return true;
  });
}

/** Who holds forwarding on through this record (empty when nobody). */
export async function ipForwardHolders(stateFile: string = DEFAULT_FORWARD_STATE): Promise<string[]> {
  return (await readRecord(stateFile))?.holders ?? [];
}
