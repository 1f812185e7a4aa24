// Instances for end-to-end tests: read them through the API, remember their
// uids, and sweep whatever a failed test left on the host by those uids
// (runc containers i-<uid>, netns lodge-i-<uid>, VM taps, cgroups /lodge/i-<uid>,
// mounts under the data dir), like pod-fixture.ts does for Pods.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, rmdirSync } from 'node:fs';
import { join } from 'node:path';
import { tapName } from '../../src/agent/network/tap.js';
import { api, waitFor, type Lodge } from './harness.js';
import { RUNC_ROOT, mountsMentioning, runcState } from './pod-fixture.js';

type Api = Pick<Lodge, 'url' | 'token' | 'caPem'>;

export const instanceIdOf = (uid: string): string => `i-${uid}`;

/** An Instance's cgroup directories in every hierarchy (v1) or the unified one (v2). */
export function instanceCgroups(uid: string): string[] {
  const roots = ['/sys/fs/cgroup', ...readdirSync('/sys/fs/cgroup').map((h) => join('/sys/fs/cgroup', h))];
  return roots.map((r) => join(r, 'lodge', `i-${uid}`)).filter((d) => existsSync(d));
}

export function initPid(uid: string): number | undefined {
  const st = runcState(instanceIdOf(uid));
  return st && st.status !== 'stopped' ? st.pid : undefined;
}

export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

export class InstanceFixture {
  readonly uids = new Set<string>();

  constructor(
    private readonly lodge: () => Api | undefined,
    readonly namespace = 'default',
  ) {}

  private get l(): Api {
    const l = this.lodge();
    if (!l) throw new Error('lodge is not running');
    return l;
  }

  // Instances are untyped JSON to the tests.
  async get(name: string): Promise<any | undefined> {
    const r = await api(this.l, 'GET', `/apis/lodge.dev/v1alpha1/namespaces/${this.namespace}/instances/${name}`);
    if (r.status === 404) return undefined;
    if (r.status !== 200) throw new Error(`GET instance ${name}: ${r.status} ${r.text}`);
    const i = r.json();
    this.uids.add(i.metadata.uid);
    return i;
  }

  async waitFor(name: string, what: string, pred: (i: any) => boolean, timeoutMs = 120_000): Promise<any> {
    return waitFor(`${name}: ${what}`, async () => {
      const i = await this.get(name);
      return i && pred(i) ? i : undefined;
    }, timeoutMs);
  }

  /** Delete every Instance of the namespace through the API and wait until they are gone (best effort). */
  async deleteAll(): Promise<void> {
    const l = this.lodge();
    if (!l) return;
    const path = `/apis/lodge.dev/v1alpha1/namespaces/${this.namespace}/instances`;
    const r = await api(l, 'GET', path);
    for (const i of r.status === 200 ? (r.json().items as any[]) : []) {
      this.uids.add(i.metadata.uid);
      await api(l, 'DELETE', `${path}/${i.metadata.name}`);
    }
    await waitFor('instances gone', async () => (await api(l, 'GET', path)).json().items.length === 0, 60_000).catch(() => undefined);
  }

  /** Last resort for what a failed test left on the host, by this fixture's uids. */
  sweepHost(dataDirs: string[]): void {
    for (const uid of this.uids) {
      spawnSync('runc', ['--root', RUNC_ROOT, 'delete', '--force', instanceIdOf(uid)]);
      spawnSync('ip', ['netns', 'del', `lodge-i-${uid}`]);
      removeTapOf(uid);
      for (const d of instanceCgroups(uid)) removeCgroupTree(d);
    }
    for (const dir of dataDirs) {
      for (const line of mountsMentioning(dir)) {
        const mountPoint = line.split(' ')[4];
        if (mountPoint) spawnSync('umount', ['-l', mountPoint]);
      }
    }
  }
}

/** A VM's tap (lt + 8 hex of its uid, alias lodge:<uid>): persistent, so it outlives a QEMU the test had to kill. Only when the alias says it is this uid's. */
export function removeTapOf(uid: string): void {
  const name = tapName(uid);
  const r = spawnSync('ip', ['-j', 'link', 'show', 'dev', name], { encoding: 'utf8' });
  if (r.status !== 0) return;
  const [link] = JSON.parse(r.stdout) as Array<{ ifalias?: string }>;
  if (link?.ifalias === `lodge:${uid}`) spawnSync('ip', ['link', 'del', 'dev', name]);
}

function removeCgroupTree(dir: string): void {
  if (!existsSync(dir)) return;
  try {
    for (const e of readdirSync(dir, { withFileTypes: true })) if (e.isDirectory()) removeCgroupTree(join(dir, e.name));
    rmdirSync(dir);
  } catch {
    /* best effort */
  }
}
