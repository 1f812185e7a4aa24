// Peers the benches run side by side with Lodge: the shape of one, apt
// installation when a peer is missing, and LXD (its daemon started when none
// answers, a dir pool when it has none, a busybox image imported from a
// rootfs directory) shared by the Pod and Instance benches.
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { lastLine, runCmd, which, type Ran } from './host.js';
import { sleep } from './stats.js';

export interface InstallOptions {
  /** apt-get install a missing peer (else it is skipped). */
  install: boolean;
  log: (line: string) => void;
}

export interface PeerRunner {
  name: string;
  figure: string;
  /** One timed start; the returned handle is what `remove` takes. */
  start(i: number): Promise<{ ms: number; handle: string }>;
  remove(handle: string): Promise<void>;
  /** Remove everything it made (idempotent). */
  cleanup(): Promise<void>;
  /** What is left of it on the host after cleanup. */
  leftovers(): Promise<string[]>;
  note?: string;
  /** How it runs one container, for the report. */
  command: string;
}

export async function ensureInstalled(bin: string, pkg: string, o: InstallOptions, timeoutMs: number): Promise<void> {
  if (which(bin)) return;
  if (!o.install) throw new Error(`${bin} is not installed (--no-install)`);
  o.log(`${bin} is missing: apt-get install -y ${pkg} (up to ${Math.round(timeoutMs / 60_000)} min)`);
  const r = await runCmd('apt-get', ['install', '-y', '--no-install-recommends', pkg], { timeoutMs });
  if (r.code !== 0 || !which(bin)) throw new Error(`${bin} is not installed and apt-get install ${pkg} failed: ${lastLine(r.stderr) || lastLine(r.stdout)}`);
  o.log(`installed ${pkg}`);
}

/**
 * LXD: installed when missing, its daemon started (and later stopped by PID)
 * when none answers, initialised with a `dir` storage pool and no network
 * when it has no pool. The image is the same busybox rootfs, by default with
 * an /sbin/init that execs `sleep 3600` (a Pod's workload), or as
 * `image.prepareRootfs` makes it; imported as a unified tarball.
 */
export async function lxdPeer(tmp: string, rootfs: string, o: InstallOptions, image: LxdImageOptions = {}): Promise<LxdPeer> {
  await ensureInstalled('lxc', 'lxd', o, 15 * 60_000);
  if (!which('lxd')) throw new Error('lxc is installed but not lxd (the daemon)');
  const lxc = (args: string[], timeoutMs = 60_000): Promise<Ran> => runCmd('lxc', args, { timeoutMs });
  let daemon: ReturnType<typeof spawn> | undefined;
  const stopDaemon = async (): Promise<void> => {
    if (!daemon || daemon.exitCode !== null || daemon.pid === undefined) return;
    const exited = new Promise((r) => daemon!.once('exit', r));
    process.kill(daemon.pid, 'SIGTERM');
    await Promise.race([exited, sleep(30_000)]);
    if (daemon.exitCode === null && daemon.signalCode === null) process.kill(daemon.pid, 'SIGKILL');
  };
  const alias = `lodge-bench-busybox-${process.pid}`;
  const nameFor = (i: number): string => `lodge-bench-${process.pid}-${i < 0 ? `w${-i}` : i}`;
  const names = new Set<string>();
  /** Right after a launch LXD may still be busy with the instance ("busy running a stop operation"): retry a few times. */
  const removeInstance = async (name: string): Promise<void> => {
    let r: Ran | undefined;
    for (let k = 0; k < 20; k++) {
      r = await lxc(['delete', '-f', name]);
      if (r.code === 0 || /not found/i.test(r.stderr)) {
        names.delete(name);
        return;
      }
      await sleep(250);
    }
    throw new Error(`lxc delete ${name}: ${lastLine(r!.stderr)}`);
  };
  const cleanup = async (): Promise<void> => {
    for (const n of [...names]) await removeInstance(n).catch(() => undefined);
    names.clear();
    await lxc(['image', 'delete', alias]);
    await stopDaemon();
  };
  try {
    if ((await lxc(['info'], 10_000)).code !== 0) {
      const log = join(tmp, 'lxd.log');
      o.log('no LXD daemon answers: starting lxd');
      daemon = spawn('lxd', ['--group', 'lxd', '--logfile', log], { stdio: 'ignore' });
      const ready = await runCmd('lxd', ['waitready', '--timeout', '60'], { timeoutMs: 70_000 });
      if (ready.code !== 0) throw new Error(`lxd did not get ready: ${lastLine(existsSync(log) ? readFileSync(log, 'utf8') : ready.stderr)}`);
    }
    const pools = await lxc(['storage', 'list', '--format', 'csv']);
    if (pools.code === 0 && !pools.stdout.trim()) {
      o.log('LXD has no storage pool: lxd init with a dir pool and no network');
      const preseed = 'config: {}\nnetworks: []\nstorage_pools:\n- name: default\n  driver: dir\nprofiles:\n- name: default\n  devices:\n    root:\n      path: /\n      pool: default\n      type: disk\n';
      const r = await runCmd('lxd', ['init', '--preseed'], { input: preseed, timeoutMs: 120_000 });
      if (r.code !== 0) throw new Error(`lxd init failed: ${lastLine(r.stderr)}`);
    }
    // A unified image tarball: metadata.yaml and rootfs/.
    const img = join(tmp, 'lxd-image');
    mkdirSync(img, { recursive: true });
    const cp = spawnSync('cp', ['-a', rootfs, join(img, 'rootfs')]);
    if (cp.status !== 0) throw new Error(`cp rootfs: ${cp.stderr}`);
    (image.prepareRootfs ?? sleepInit)(join(img, 'rootfs'));
    const arch = lastLine(spawnSync('uname', ['-m'], { encoding: 'utf8' }).stdout);
    writeFileSync(join(img, 'metadata.yaml'), `architecture: ${arch}\ncreation_date: ${Math.floor(Date.now() / 1000)}\nproperties:\n  description: lodge bench busybox\n  os: busybox\n`);
    const tarball = join(tmp, 'lxd-image.tar');
    const t = spawnSync('tar', ['-C', img, '-cf', tarball, 'metadata.yaml', 'rootfs']);
    if (t.status !== 0) throw new Error(`tar: ${t.stderr}`);
    const imp = await lxc(['image', 'import', tarball, '--alias', alias], 120_000);
    if (imp.code !== 0) throw new Error(`lxc image import failed: ${lastLine(imp.stderr)}`);
    const version = lastLine((await runCmd('lxd', ['--version'])).stdout);
    // The first pool: its name (column 1) and driver (column 2, what the report calls it).
    const [poolName, pool = '?'] = (await lxc(['storage', 'list', '--format', 'csv'])).stdout.split('\n')[0]?.split(',') ?? [];
    const poolInfo = poolName ? await lxc(['query', `/1.0/storage-pools/${poolName}`]) : undefined;
    let source: string | undefined;
    try {
      source = poolInfo?.code === 0 ? ((JSON.parse(poolInfo.stdout) as { config?: { source?: string } }).config?.source) : undefined;
    } catch {
      source = undefined;
    }
    const runner: LxdPeer = {
      nameFor,
      rootfsOf: (name) => (source && existsSync(source) ? join(source, 'containers', name, 'rootfs') : undefined),
      name: 'lxd',
      figure: `lxc launch (LXD ${version}, ${pool} pool)`,
      note: 'returns once the container init runs',
      command: `lxc launch ${alias} NAME, ${image.initDescription ?? "the image's /sbin/init a script that execs /bin/sleep 3600"}, default profile (root disk on the ${pool} pool, no network); then lxc delete -f`,
      async start(i) {
        const name = nameFor(i);
        names.add(name);
        const r = await lxc(['launch', alias, name]);
        if (r.code !== 0) throw new Error(`lxc launch failed (exit ${r.code}): ${lastLine(r.stderr)}`);
        return { ms: r.ms, handle: name };
      },
      remove: removeInstance,
      cleanup,
      async leftovers() {
        const left: string[] = [];
        if ((await lxc(['info'], 5_000)).code === 0) {
          const l = await lxc(['list', '--format', 'csv', '-c', 'n']);
          for (const n of l.stdout.split('\n')) if (n.startsWith(`lodge-bench-${process.pid}-`)) left.push(`LXD container ${n}`);
          const i = await lxc(['image', 'list', '--format', 'csv', '-c', 'l']);
          if (i.stdout.includes(alias)) left.push(`LXD image ${alias}`);
        }
        if (daemon && daemon.exitCode === null && daemon.signalCode === null) left.push(`lxd daemon ${daemon.pid}`);
        return left;
      },
    };
    const probe = await runner.start(-1);
    await runner.remove(probe.handle);
    return runner;
  } catch (e) {
    await cleanup().catch(() => undefined);
    throw e;
  }
}

export interface LxdImageOptions {
  /** Makes the image's rootfs (a copy of the given one) boot as wanted; default: /sbin/init execs sleep 3600. */
  prepareRootfs?: (rootfs: string) => void;
  /** How that init is described in the report. */
  initDescription?: string;
}

export interface LxdPeer extends PeerRunner {
  /** The container name start(i) uses. */
  nameFor(i: number): string;
  /** The container's root directory on the host (dir pools), undefined when unknown. */
  rootfsOf(name: string): string | undefined;
}

/** A Pod's workload as init: `exec /bin/sleep 3600`. */
function sleepInit(rootfs: string): void {
  rmSync(join(rootfs, 'sbin', 'init'), { force: true });
  mkdirSync(join(rootfs, 'sbin'), { recursive: true });
  writeFileSync(join(rootfs, 'sbin', 'init'), '#!/bin/sh\nexec /bin/sleep 3600\n');
  chmodSync(join(rootfs, 'sbin', 'init'), 0o755);
}
