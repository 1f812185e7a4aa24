// What a Pod shares between its containers on the host: a network namespace
// (loopback only until real networking), a parent cgroup, and a state dir
// <dataDir>/pods/<uid>/ holding its logs and volumes (volumes/). The state
// dir is made first and removed last, so a crash in between leaves a trace
// the agent can find.
import { execFile } from 'node:child_process';
import { mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { removeCgroup } from './drivers/container/cgroups.js';
import { unmountUnder } from './volumes/empty-dir.js';

const run = promisify(execFile);

export const NETNS_PREFIX = 'lodge-';
export const CGROUP_ROOT = '/lodge';

export function netnsName(uid: string): string {
  return `${NETNS_PREFIX}${uid}`;
}
export function netnsPath(uid: string): string {
  return `/run/netns/${netnsName(uid)}`;
}
export function podCgroup(uid: string): string {
  return `${CGROUP_ROOT}/pod-${uid}`;
}

export class PodSandboxes {
  constructor(readonly podsDir: string) {}

  dir(uid: string): string {
    return join(this.podsDir, uid);
  }

  /** CRI log of one run of a container, as the kubelet lays it out (<container>/<restart>.log). */
  logPath(uid: string, container: string, restartCount: number): string {
    return join(this.dir(uid), 'logs', container, `${restartCount}.log`);
  }

  /** The Pod's /etc/hosts, bind-mounted into each container (the kubelet's etc-hosts). */
  hostsFile(uid: string): string {
    return join(this.dir(uid), 'etc-hosts');
  }

  /** The Pod's /etc/resolv.conf, bind-mounted into each container. */
  resolvConf(uid: string): string {
    return join(this.dir(uid), 'resolv.conf');
  }

  /**
   * Write the Pod's hosts and resolv.conf when their content changed (a new
   * file is renamed into place: a container already running keeps the one it
   * has, as with the kubelet, which writes them once per sandbox).
   */
  async writeNetworkFiles(uid: string, files: { hosts: string; resolvConf: string }): Promise<void> {
    for (const [path, text] of [
      [this.hostsFile(uid), files.hosts],
      [this.resolvConf(uid), files.resolvConf],
    ] as const) {
      if ((await readFile(path, 'utf8').catch(() => undefined)) === text) continue;
      await writeFile(`${path}.tmp`, text, { mode: 0o644 });
      await rename(`${path}.tmp`, path);
    }
  }

  async ensure(uid: string): Promise<void> {
    await this.ensureDir(uid);
    await this.ensureNetns(uid);
  }

  /** The state dir (and its logs dir): quick, needed before anything else. */
  async ensureDir(uid: string): Promise<void> {
    await mkdir(join(this.dir(uid), 'logs'), { recursive: true });
  }

  /** The network namespace with loopback up: two `ip` runs, which the agent overlaps with preparing the first container. */
  async ensureNetns(uid: string): Promise<void> {
    const exists = await stat(netnsPath(uid)).then(
      () => true,
      () => false,
    );
    if (exists) return;
    // One ip run (a batch) instead of two: every process the agent starts blocks its event loop for the fork.
    const make = (): Promise<unknown> => {
      const p = run('ip', ['-batch', '-']);
      p.child.stdin?.end(`netns add ${netnsName(uid)}\nnetns exec ${netnsName(uid)} ip link set lo up\n`);
      return p;
    };
    try {
      await make();
    } catch (e) {
      // A half-made namespace (file without mount, or lo still down) fails the batch: remove it and try once more.
      await run('ip', ['netns', 'del', netnsName(uid)]).catch(() => undefined);
      try {
        await make();
      } catch {
        throw new Error(`pod ${uid}: cannot create network namespace: ${(e as Error).message}`);
      }
    }
  }

  /** Remove the netns, the pod cgroup and the state dir (logs and volumes included; tmpfs volumes unmounted first). Idempotent. */
  async remove(uid: string): Promise<void> {
    const has = await stat(netnsPath(uid)).then(
      () => true,
      () => false,
    );
    if (has) await run('ip', ['netns', 'del', netnsName(uid)]);
    await removeCgroup(podCgroup(uid));
    // Never rm -r across a mount: it would empty the tmpfs and then fail on the mount point.
    await unmountUnder(this.dir(uid));
    await rm(this.dir(uid), { recursive: true, force: true });
  }

  /** Uids with a state dir on this node. */
  async list(): Promise<string[]> {
    try {
      return await readdir(this.podsDir);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw e;
    }
  }
}
