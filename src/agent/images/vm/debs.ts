// Debian packages for the VM images, fetched with the host's apt into a
// cache shared by every build on the machine (tests and CI fetch a kernel
// once), and unpacked without installing anything on the host.
import { mkdir, readdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { exists, tempName } from '../fsutil.js';
import { run, runCmd } from '../run.js';

export const DEFAULT_DEB_CACHE = '/var/cache/lodge/debs';

/** The package a metapackage stands for: its first dependency matching `pattern` (linux-image-cloud-amd64 → linux-image-6.1.0-N-cloud-amd64). */
export async function resolveDependency(meta: string, pattern: RegExp): Promise<string> {
  let out: string;
  try {
    out = await run('apt-cache', ['depends', meta]);
  } catch (e) {
    throw new Error(`apt-cache depends ${meta}: ${(e as Error).message} (are apt's lists there? try apt-get update)`);
  }
  for (const line of out.split('\n')) {
    const m = /^\s*\|?Depends:\s*(\S+)/.exec(line);
    if (m && pattern.test(m[1]!)) return m[1]!;
  }
  throw new Error(`${meta} has no dependency matching ${pattern}; apt-cache says:\n${out.trim()}`);
}

/** The candidate version apt would install, and the .deb file name apt-get download gives it. */
async function candidate(pkg: string): Promise<{ version: string; arch: string }> {
  const out = await run('apt-cache', ['show', '--no-all-versions', pkg]).catch((e: Error) => {
    throw new Error(`apt-cache show ${pkg}: ${e.message} (try apt-get update)`);
  });
  const field = (f: string): string | undefined => new RegExp(`^${f}: (.+)$`, 'm').exec(out)?.[1]?.trim();
  const version = field('Version');
  const arch = field('Architecture');
  if (!version || !arch) throw new Error(`apt-cache show ${pkg} gave no Version/Architecture`);
  return { version, arch };
}

/** apt-get download's file name: the epoch's colon is escaped. */
const debFileName = (pkg: string, version: string, arch: string): string => `${pkg}_${version.replace(/:/g, '%3a')}_${arch}.deb`;

/**
 * The path of `pkg`'s .deb in `cacheDir`, downloading it when absent. Each
 * download goes to a private directory and is renamed in, so concurrent
 * builds (even in other processes) never see a partial file.
 */
export async function fetchDeb(pkg: string, cacheDir = DEFAULT_DEB_CACHE): Promise<string> {
  await mkdir(cacheDir, { recursive: true });
  let wanted: string;
  try {
    const { version, arch } = await candidate(pkg);
    wanted = join(cacheDir, debFileName(pkg, version, arch));
  } catch (e) {
    // Offline, or lists gone: any cached build of the package will do.
    const cached = (await readdir(cacheDir)).filter((n) => n.startsWith(`${pkg}_`) && n.endsWith('.deb')).sort();
    if (cached.length) return join(cacheDir, cached[cached.length - 1]!);
    throw e;
  }
  if (await exists(wanted)) return wanted;
  const tmp = tempName(cacheDir, '.download');
  await mkdir(tmp);
  try {
    // As root apt drops to _apt, which cannot write to this private directory.
    await runCmd('apt-get', ['download', '-q', '-o', 'APT::Sandbox::User=root', pkg], { cwd: tmp }).catch((e: Error) => {
      throw new Error(`apt-get download ${pkg}: ${e.message}`);
    });
    const got = (await readdir(tmp)).filter((n) => n.endsWith('.deb'));
    if (got.length !== 1) throw new Error(`apt-get download ${pkg} left ${got.length} .deb files in ${tmp}`);
    await rename(join(tmp, got[0]!), join(cacheDir, got[0]!));
    return join(cacheDir, got[0]!);
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

/** Unpacks a .deb's files (not its scripts) into `dir`. */
export async function unpackDeb(deb: string, dir: string): Promise<void> {
  await mkdir(dir, { recursive: true });
  await run('dpkg-deb', ['-x', deb, dir]).catch((e: Error) => {
    throw new Error(`unpacking ${deb}: ${e.message}`);
  });
}

/**
 * `pkg` and every package it depends on, recursively (Depends only: no
 * Pre-Depends, which are about installing, and no Recommends), as apt
 * resolves them on this host: what a program from `pkg` needs to run when
 * unpacked into a guest that has nothing else.
 */
export async function dependencyClosure(pkg: string): Promise<string[]> {
  const flags = ['--recurse', '--no-recommends', '--no-suggests', '--no-conflicts', '--no-breaks', '--no-replaces', '--no-enhances', '--no-pre-depends'];
  let out: string;
  try {
    out = await run('apt-cache', ['depends', ...flags, pkg]);
  } catch (e) {
    throw new Error(`apt-cache depends --recurse ${pkg}: ${(e as Error).message} (are apt's lists there? try apt-get update)`);
  }
  // Package names start a line; indented lines are their dependencies, <virtual> ones stand for a real package listed too.
  const names = out.split('\n').filter((l) => /^[a-z0-9][a-z0-9+.-]*(:[a-z0-9]+)?$/.test(l.trim()) && !l.startsWith(' '));
  return [...new Set(names.map((l) => l.trim().replace(/:amd64$/, '')))];
}
