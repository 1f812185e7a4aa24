// Pods for agent end-to-end tests: create and read them through the API,
// remember their uids, and sweep whatever a failed test left on the host
// (runc containers, netns, cgroups, mounts under the data dir) by those uids.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, rmdirSync } from 'node:fs';
import { join } from 'node:path';
import { api, waitFor, type Lodge } from './harness.js';

export const RUNC_ROOT = '/run/lodge/runc';

type Api = Pick<Lodge, 'url' | 'token' | 'caPem'>;

export class PodFixture {
  readonly uids = new Set<string>();

  constructor(
    private readonly lodge: () => Api | undefined,
    readonly namespace = 'default',
    /** Merged into every Pod's spec (e.g. a short terminationGracePeriodSeconds). */
    private readonly specDefaults: Record<string, unknown> = {},
  ) {}

  private get l(): Api {
    const l = this.lodge();
    if (!l) throw new Error('lodge is not running');
    return l;
  }

  // Pods are untyped JSON to the tests.
  async create(name: string, spec: Record<string, unknown>, metadata: Record<string, unknown> = {}): Promise<any> {
    const r = await api(this.l, 'POST', `/api/v1/namespaces/${this.namespace}/pods`, {
      body: JSON.stringify({ apiVersion: 'v1', kind: 'Pod', metadata: { name, ...metadata }, spec: { ...this.specDefaults, ...spec } }),
      contentType: 'application/json',
    });
    assert.equal(r.status, 201, r.text);
    const pod = r.json();
    this.uids.add(pod.metadata.uid);
    return pod;
  }

  async get(name: string): Promise<any | undefined> {
    const r = await api(this.l, 'GET', `/api/v1/namespaces/${this.namespace}/pods/${name}`);
    if (r.status === 404) return undefined;
    assert.equal(r.status, 200, r.text);
    return r.json();
  }

  /** Poll until the Pod satisfies pred; returns it. */
  async waitFor(name: string, what: string, pred: (pod: any) => boolean, timeoutMs = 60_000): Promise<any> {
    return waitFor(`${name}: ${what}`, async () => {
      const p = await this.get(name);
      return p && pred(p) ? p : undefined;
    }, timeoutMs);
  }

  /** Delete every Pod of the namespace through the API and wait until they are gone (best effort). */
  async deleteAll(): Promise<void> {
    const l = this.lodge();
    if (!l) return;
    const r = await api(l, 'GET', `/api/v1/namespaces/${this.namespace}/pods`);
    for (const p of r.status === 200 ? (r.json().items as any[]) : []) await api(l, 'DELETE', `/api/v1/namespaces/${this.namespace}/pods/${p.metadata.name}`);
    await waitFor('pods gone', async () => (await api(l, 'GET', `/api/v1/namespaces/${this.namespace}/pods`)).json().items.length === 0, 30_000).catch(() => undefined);
  }

  /**
   * Last resort for what a failed test left on the host: this fixture's Pods
   * by uid, and any Pod container whose bundle is under one of the data dirs
   * (Pods a controller made, which the fixture never saw).
   */
  /** Pods the agent of a data dir made sandboxes for (call before the data dir is removed): swept too, even with no container left. */
  noteSandboxes(dataDir: string): void {
    for (const uid of sandboxUids(dataDir)) this.uids.add(uid);
  }

  sweepHost(dataDirs: string[]): void {
    const listed = spawnSync('runc', ['--root', RUNC_ROOT, 'list', '-q'], { encoding: 'utf8' }).stdout ?? '';
    const uids = new Set(this.uids);
    for (const c of JSON.parse(spawnSync('runc', ['--root', RUNC_ROOT, 'list', '-f', 'json'], { encoding: 'utf8' }).stdout || 'null') ?? []) {
      const m = /^p-([0-9a-f-]{36})-/.exec((c as { id: string }).id);
      if (m && dataDirs.some((d) => (c as { bundle: string }).bundle.startsWith(`${d}/`))) uids.add(m[1]!);
    }
    for (const d of dataDirs) for (const uid of sandboxUids(d)) uids.add(uid);
    for (const uid of uids) {
      for (const id of listed.split('\n').filter((x) => x.startsWith(`p-${uid}-`))) spawnSync('runc', ['--root', RUNC_ROOT, 'delete', '--force', id]);
      spawnSync('ip', ['netns', 'del', `lodge-${uid}`]);
      for (const d of podCgroups(uid)) removeCgroupTree(d);
    }
    for (const dir of dataDirs) {
      for (const line of mountsMentioning(dir)) {
        const mountPoint = line.split(' ')[4];
        if (mountPoint) spawnSync('umount', ['-l', mountPoint]);
      }
    }
  }
}

/** Sandboxes whose containers are gone (exited, or never started) still have their netns: their state dirs under DATA/pods name them. */
function sandboxUids(dataDir: string): string[] {
  const podsDir = join(dataDir, 'pods');
  return existsSync(podsDir) ? readdirSync(podsDir).filter((uid) => /^[0-9a-f-]{36}$/.test(uid)) : [];
}

/** The driver's container id of a Pod's container. */
export const containerIdOf = (uid: string, container = 'c'): string => `p-${uid}-${container}`;

export const containerStatus = (pod: any, c = 'c'): any => pod?.status?.containerStatuses?.find((s: { name: string }) => s.name === c);

export function runcState(id: string): { pid: number; status: string } | undefined {
  const r = spawnSync('runc', ['--root', RUNC_ROOT, 'state', id], { encoding: 'utf8' });
  return r.status === 0 ? JSON.parse(r.stdout) : undefined;
}

export function mountsMentioning(s: string): string[] {
  return readFileSync('/proc/self/mountinfo', 'utf8').split('\n').filter((l) => l.includes(s));
}

/** A Pod's cgroup directories in every hierarchy (v1) or the unified one (v2). */
export function podCgroups(uid: string): string[] {
  const roots = ['/sys/fs/cgroup', ...readdirSync('/sys/fs/cgroup').map((h) => join('/sys/fs/cgroup', h))];
  return roots.map((r) => join(r, 'lodge', `pod-${uid}`)).filter((d) => existsSync(d));
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
