// CRIU, which runc uses to checkpoint and restore containers. Debian
// bookworm's own criu (3.17) cannot dump on the kernels Lodge runs on
// ("Unexpected rt vDSO area bounds"), so scripts/criu.mjs builds 4.1.1 into
// a per-machine cache and the driver hands that binary to runc with
// `runc --criu PATH`. Passing the path, rather than installing into
// /usr/local/sbin, leaves the host's own criu (and other engines using it)
// untouched and makes the version runc runs explicit.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { findExecutable, runCommand } from './command.js';
import { exists } from './proc.js';

/** Where scripts/criu.mjs caches the binary it builds (keep in step with it). */
export const CACHED_CRIU = '/var/cache/lodge/criu/4.1.1/criu';

export type CriuAvailability = { ok: true } | { ok: false; reason: string };

/** The criu to give runc: the one asked for, else the cached build, else one on PATH (which `criu check` then judges). */
export async function findCriu(explicit?: string): Promise<string | undefined> {
  if (explicit) return explicit;
  if (await exists(CACHED_CRIU)) return CACHED_CRIU;
  return findExecutable('criu');
}

/**
 * Whether criu can checkpoint on this host: `criu check` tests the kernel
 * features a dump and restore need (and fails on the vDSO layouts an old
 * criu does not understand). Its complaints are the reason.
 */
export async function checkCriu(path: string | undefined): Promise<CriuAvailability> {
  if (!path) return { ok: false, reason: `no criu binary: ${CACHED_CRIU} is missing (node scripts/criu.mjs builds it) and none is on PATH` };
  const r = await runCommand([path, 'check']).catch((e: Error) => ({ code: -1, stdout: '', stderr: e.message }));
  const out = `${r.stdout}\n${r.stderr}`.trim();
  if (r.code === 0 && /Looks good/i.test(out)) return { ok: true };
  const lines = out.split('\n').filter((l) => l.trim() && !/^Warn .*kdat cache/.test(l));
  return { ok: false, reason: `${path} check failed (exit ${r.code}): ${lines.slice(-4).join('; ') || 'no output'}` };
}

/** The last lines of a CRIU log (dump.log, restore.log): where CRIU says what it could not do. */
export async function criuLogTail(dir: string, name: 'dump.log' | 'restore.log', lines = 6): Promise<string> {
  const path = join(dir, name);
  const text = await readFile(path, 'utf8').catch(() => undefined);
  if (text === undefined) return `(no ${path})`;
  // Errors are what explains a failure; fall back to the tail when CRIU logged none.
  const all = text.split('\n').filter(Boolean);
  const errors = all.filter((l) => /Error|err|fail/i.test(l));
  return `CRIU's ${path}: ${(errors.length ? errors : all).slice(-lines).join(' | ')}`;
}
