// Images Lodge builds itself from Debian packages of the host: `busybox` from
// busybox-static, `debian:<release>` with debootstrap. Each is built as a
// directory, archived with GNU tar (always on Debian) and imported like any
// rootfs tarball, so a built image has a blob and a diff-id like every other.
import { readFile, readdir, copyFile, chmod, mkdir, open, rm, symlink, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { ImageConfig } from '../runtime/driver.js';
import { exists } from './fsutil.js';
import { hostArchitecture } from './oci.js';
import { run } from './run.js';

export const DEFAULT_PATH = 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
export const DEFAULT_DEBIAN_RELEASE = 'bookworm';

export type BuiltinSpec = { kind: 'busybox' } | { kind: 'debian'; release: string } | { kind: 'debian-systemd'; release: string };

/**
 * What debian-systemd adds to minbase: systemd as /sbin/init, dbus (logind,
 * hostnamed, systemctl's bus), and iproute2 and procps so a shell in it can
 * see what runs. A system container boots it as PID 1 (init-system.ts).
 */
export const DEBIAN_SYSTEMD_PACKAGES = ['systemd-sysv', 'dbus', 'iproute2', 'procps'];

/** Which built-in image a store name means: `busybox`, `debian` (the default release), `debian:<release>` or `debian-systemd`. */
export function builtinSpec(name: string): BuiltinSpec | undefined {
  if (name === 'busybox') return { kind: 'busybox' };
  if (name === 'debian-systemd') return { kind: 'debian-systemd', release: DEFAULT_DEBIAN_RELEASE };
  if (name === 'debian') return { kind: 'debian', release: DEFAULT_DEBIAN_RELEASE };
  const m = /^debian:([a-z]+)$/.exec(name);
  return m ? { kind: 'debian', release: m[1]! } : undefined;
}

/** The store name of a built-in image as the Image kind names it (spec.source.builtin). */
export function builtinImageName(name: string, release?: string): string {
  return name === 'debian' ? `debian:${release ?? DEFAULT_DEBIAN_RELEASE}` : name;
}

/** True when the ELF file has no program interpreter, i.e. runs without a libc in the image. */
export async function isStaticElf(path: string): Promise<boolean> {
  const fh = await open(path, 'r');
  try {
    const head = Buffer.alloc(64);
    await fh.read(head, 0, 64, 0);
    if (head.readUInt32BE(0) !== 0x7f454c46) return false;
    const is64 = head[4] === 2;
    const le = head[5] === 1;
    const u16 = (b: Buffer, o: number): number => (le ? b.readUInt16LE(o) : b.readUInt16BE(o));
    const u32 = (b: Buffer, o: number): number => (le ? b.readUInt32LE(o) : b.readUInt32BE(o));
    const phoff = is64 ? Number(le ? head.readBigUInt64LE(32) : head.readBigUInt64BE(32)) : u32(head, 28);
    const phentsize = u16(head, is64 ? 54 : 42);
    const phnum = u16(head, is64 ? 56 : 44);
    const table = Buffer.alloc(phentsize * phnum);
    await fh.read(table, 0, table.length, phoff);
    const PT_INTERP = 3;
    for (let i = 0; i < phnum; i++) if (u32(table, i * phentsize) === PT_INTERP) return false;
    return true;
  } finally {
    await fh.close();
  }
}

/** The host's statically linked busybox (Debian's busybox-static), or a clear error. */
export async function findStaticBusybox(candidates = ['/bin/busybox', '/usr/bin/busybox']): Promise<string> {
  for (const p of candidates) {
    if (!(await exists(p))) continue;
    if (await isStaticElf(p)) return p;
    throw new Error(`${p} is dynamically linked and would not run inside an image; install Debian's busybox-static (apt-get install busybox-static)`);
  }
  throw new Error(`no busybox at ${candidates.join(' or ')}; install Debian's busybox-static (apt-get install busybox-static)`);
}

async function mkdirMode(path: string, mode: number): Promise<void> {
  await mkdir(path, { recursive: true });
  await chmod(path, mode); // mkdir's mode is masked by the umask; /tmp needs its sticky 1777
}

/** Builds the busybox root filesystem in the empty directory `dir`. */
export async function buildBusybox(dir: string, busybox?: string): Promise<ImageConfig> {
  const bin = busybox ?? (await findStaticBusybox());
  for (const d of ['bin', 'sbin', 'usr/bin', 'usr/sbin', 'etc', 'home', 'dev', 'proc', 'sys', 'var', 'run']) await mkdirMode(join(dir, d), 0o755);
  await mkdirMode(join(dir, 'root'), 0o700);
  await mkdirMode(join(dir, 'tmp'), 0o1777);
  await copyFile(bin, join(dir, 'bin/busybox'));
  await chmod(join(dir, 'bin/busybox'), 0o755);
  // What `busybox --install -s` would make inside the image, without
  // running anything in it: each applet as a symlink to /bin/busybox, at
  // the place --list-full names.
  const applets = (await run(bin, ['--list-full'])).split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('/') && !l.includes('..'));
  for (const rel of applets) {
    if (rel === 'bin/busybox') continue;
    await mkdir(dirname(join(dir, rel)), { recursive: true });
    if (!(await exists(join(dir, rel)))) await symlink('/bin/busybox', join(dir, rel));
  }
  await writeFile(join(dir, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n');
  await writeFile(join(dir, 'etc/group'), 'root:x:0:\nnogroup:x:65534:\n');
  await writeFile(join(dir, 'etc/hostname'), 'busybox\n');
  return { cmd: ['sh'], env: [DEFAULT_PATH] };
}

/** The Debian mirror: LODGE_DEBIAN_MIRROR, else the host's apt source, else deb.debian.org. */
export async function debianMirror(): Promise<string> {
  if (process.env.LODGE_DEBIAN_MIRROR) return process.env.LODGE_DEBIAN_MIRROR;
  const texts: string[] = [];
  for (const f of ['/etc/apt/sources.list', ...(await readdir('/etc/apt/sources.list.d').catch(() => [] as string[])).map((n) => `/etc/apt/sources.list.d/${n}`)]) {
    if (f.endsWith('.list') || f.endsWith('.sources')) texts.push(await readFile(f, 'utf8').catch(() => ''));
  }
  for (const line of texts.join('\n').split('\n')) {
    const m = /^\s*(?:deb\s+(?:\[[^\]]*\]\s+)?|URIs:\s*)(\S+)/.exec(line);
    if (m && /\/debian\/?$/.test(m[1]!) && !m[1]!.includes('security')) return m[1]!;
  }
  return 'http://deb.debian.org/debian';
}

function debianArch(): string {
  const arch = hostArchitecture();
  return ({ '386': 'i386', arm: 'armhf' } as Record<string, string>)[arch] ?? arch;
}

/**
 * Builds a minimal Debian (debootstrap --variant=minbase) in the empty
 * directory `dir`. Takes a while. `include` adds packages (and what they
 * depend on) to the same debootstrap run: the debian-vm image's init,
 * udev and guest agent.
 */
export async function buildDebian(dir: string, release: string, mirror?: string, opts: { include?: string[] } = {}): Promise<ImageConfig> {
  const include = opts.include?.length ? [`--include=${opts.include.join(',')}`] : [];
  await run('debootstrap', ['--variant=minbase', `--arch=${debianArch()}`, ...include, release, dir, mirror ?? (await debianMirror())]).catch((e: Error) => {
    throw new Error(`debootstrap ${release} into ${dir}: ${e.message}`);
  });
  // Host details and caches do not belong in an image: the runtime provides
  // /dev, resolv.conf and the hostname; downloaded .debs and apt lists are
  // only weight.
  for (const rel of ['etc/resolv.conf', 'etc/hostname']) await rm(join(dir, rel), { force: true });
  for (const d of ['dev', 'var/cache/apt/archives', 'var/lib/apt/lists']) {
    for (const n of await readdir(join(dir, d)).catch(() => [] as string[])) {
      if (n !== 'partial' && n !== 'lock') await rm(join(dir, d, n), { recursive: true, force: true });
    }
  }
  return { cmd: ['bash'], env: [DEFAULT_PATH] };
}

/** Archives `dir` as an uncompressed tar at `out`, owners numeric, in name order (reproducible). */
export async function tarDirectory(dir: string, out: string): Promise<void> {
  await run('tar', ['--create', `--file=${out}`, `--directory=${dir}`, '--numeric-owner', '--sort=name', '--one-file-system', '.']);
}
