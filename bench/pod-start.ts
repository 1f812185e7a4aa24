// Pod start, end to end: a Pod POSTed to a real `lodge up` (child process,
// temporary data dir, its in-process node agent) until its busybox
// container runs, side by side in one run with the peers doing the same
// thing their own way:
//   - `runc run -d` of the same busybox rootfs (the image store's built-in
//     busybox, copied to a plain directory) with the config.json the
//     container driver would write: the floor;
//   - `podman run -d` of that rootfs imported as an image (`podman import`);
//   - `lxc launch` of that rootfs imported as an LXD image.
// Samples alternate between them so drift hits all alike. Then 100 Pods
// created at once until all are Running, and the host memory one idle Pod
// costs (its conmon, its container, and the lodge process's growth).
//
//   node dist/bench/pod-start.js [--runs 20] [--pods 100] [--idle 50]
//                                [--peers runc,podman,lxd] [--no-install] [--no-write]
//
// Root only. podman and LXD are installed with apt-get when missing (not with
// --no-install); a peer that cannot be installed or started is skipped and
// the table says why. Everything started is stopped by PID or deleted by
// name, and the run ends with a check that no container, conmon, mount or
// netns of its own is left. Nothing here asserts a timing.
import { intArg, peerSet } from './lib/args.js';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { buildOciSpec } from '../src/agent/drivers/container/oci-spec.js';
import { probeHost } from '../src/agent/drivers/container/host.js';
import { ImageStore } from '../src/agent/images/index.js';
import type { WorkloadSpec } from '../src/agent/runtime/driver.js';
import { commandLine, RESULTS_MD } from './api.js';
import { call, closeAll, connect, type Conn } from './lib/http.js';
import { cmdline, lastLine, memKiB, mountsUnder, pids, runCmd, vmRssKiB, which, type Ran } from './lib/host.js';
import { ensureInstalled, lxdPeer, type PeerRunner } from './lib/peers.js';
import { ResourceWatch } from './lib/watch.js';
import { startLodge, type RunningLodge } from './lib/lodge.js';
import { describeMachine, machineInfo } from './lib/machine.js';
import { writeSection } from './lib/results-md.js';
import { median, nowMs, sleep, summarize, type Summary } from './lib/stats.js';

export const SECTION = 'Step 2 — Pod start';
const NODE = 'bench';
const NS = 'pod-start';
/** The agent's runc state dir (the driver's default). */
const LODGE_RUNC_ROOT = '/run/lodge/runc';

export type Peer = 'runc' | 'podman' | 'lxd';
const ALL_PEERS: Peer[] = ['runc', 'podman', 'lxd'];

export interface PodStartOptions {
  runs: number;
  warmup: number;
  /** Pods created at once. */
  pods: number;
  /** Idle Pods for the memory figure. */
  idle: number;
  peers: Set<Peer>;
  install: boolean;
  log: (line: string) => void;
}

export const DEFAULTS = { runs: 20, warmup: 2, pods: 100, idle: 50 };

export interface StartRow {
  figure: string;
  samples: number[];
  /** Why there are no samples. */
  skipped?: string;
  note?: string;
}

export interface PodStartResult {
  start: StartRow[];
  burst?: { pods: number; totalMs: number; perPodMs: number; each: Summary; postsMs: number };
  memory?: {
    pods: number;
    conmonPssKiB: number;
    conmonRssKiB: number;
    containerPssKiB: number;
    lodgeRssBeforeKiB: number;
    lodgeRssAfterKiB: number;
    lodgeGrowthKiB: number;
  };
  details: string[];
  lodgeCommand: string;
  leftovers: string[];
}

// ---- small host helpers ----------------------------------------------------

const containerId = (uid: string): string => `p-${uid}-c`;

/** The pid of a Lodge Pod's container once it has exec'd its command (no longer `runc init`), else undefined. */
function containerProcess(uid: string): number | undefined {
  let pid: number;
  try {
    pid = (JSON.parse(readFileSync(join(LODGE_RUNC_ROOT, containerId(uid), 'state.json'), 'utf8')) as { init_process_pid: number }).init_process_pid;
  } catch {
    return undefined;
  }
  const argv = cmdline(pid);
  if (argv.length === 0 || (argv[0]!.endsWith('runc') && argv[1] === 'init')) return undefined;
  return pid;
}

function podManifest(name: string): object {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: NS, labels: { bench: 'pod-start' } },
    // sleep as PID 1 ignores SIGTERM: a grace period of 1 s bounds each deletion.
    spec: { terminationGracePeriodSeconds: 1, containers: [{ name: 'c', image: 'busybox', command: ['sleep', '3600'] }] },
  };
}

// ---- the peers ---------------------------------------------------------------

/** The driver's config.json for the plain rootfs directory, as bench/container-start.ts does it. */
async function runcPeer(tmp: string, rootfs: string): Promise<PeerRunner> {
  const runc = which('runc');
  if (!runc) throw new Error('runc is not installed (node scripts/setup.mjs)');
  const runcRoot = join(tmp, 'runc');
  const bundle = join(tmp, 'runc-bundle');
  mkdirSync(bundle, { recursive: true });
  const cgroupParent = `/lodge-bench-ps-${process.pid}`;
  const host = await probeHost();
  const spec = (id: string): WorkloadSpec => ({
    id,
    node: NODE,
    rootfs: { lowerDirs: [rootfs] },
    args: ['sleep', '3600'],
    env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'],
    cwd: '/',
    limits: {},
    cgroupsPath: `${cgroupParent}/${id}`,
    mounts: [],
    logPath: join(tmp, 'runc-logs', `${id}.log`),
  });
  const ids = new Set<string>();
  const list = async (): Promise<string[]> => {
    const r = await runCmd(runc, ['--root', runcRoot, 'list', '-q'], { timeoutMs: 10_000 });
    return r.stdout.split('\n').filter(Boolean);
  };
  const remove = async (id: string): Promise<void> => {
    const r = await runCmd(runc, ['--root', runcRoot, 'delete', '--force', id], { timeoutMs: 30_000 });
    if (r.code !== 0 && !/does not exist/.test(r.stderr)) throw new Error(`runc delete ${id}: ${lastLine(r.stderr)}`);
    ids.delete(id);
  };
  return {
    name: 'runc',
    figure: 'runc run -d (plain dir, same config)',
    note: 'returns once the container process runs',
    command: `runc --root DIR run -d -b BUNDLE ID, with the config.json the container driver writes for the same workload (new network namespace, cgroup under ${cgroupParent}) and the copied layer as a plain, writable root; then runc delete --force`,
    async start(i) {
      const id = `bench-${process.pid}-${i}`;
      const config = buildOciSpec(spec(id), `${cgroupParent}/${id}`, host);
      writeFileSync(join(bundle, 'config.json'), JSON.stringify({ ...config, root: { path: rootfs, readonly: false } }));
      ids.add(id);
      // runc run -d hands its stdio to the container: /dev/null, and its errors from --log.
      const log = join(bundle, 'runc.log');
      const r = await runCmd(runc, ['--root', runcRoot, '--log', log, 'run', '-d', '-b', bundle, id], { timeoutMs: 60_000, noStdio: true });
      if (r.code !== 0) throw new Error(`runc run -d failed (exit ${r.code}): ${lastLine(existsSync(log) ? readFileSync(log, 'utf8') : r.stderr)}`);
      return { ms: r.ms, handle: id };
    },
    remove,
    async cleanup() {
      for (const id of new Set([...ids, ...(await list().catch(() => []))])) await remove(id).catch(() => undefined);
      // The cgroups runc made under the bench's parent, in every hierarchy (v1 hybrid).
      for (const h of existsSync('/sys/fs/cgroup') ? readdirSync('/sys/fs/cgroup') : []) {
        const parent = join('/sys/fs/cgroup', h, cgroupParent);
        if (!existsSync(parent)) continue;
        for (const d of readdirSync(parent, { withFileTypes: true })) if (d.isDirectory()) spawnSync('rmdir', [join(parent, d.name)]);
        spawnSync('rmdir', [parent]);
      }
    },
    async leftovers() {
      const left = existsSync(runcRoot) ? (await list().catch(() => [])).map((id) => `runc container ${id}`) : [];
      for (const h of existsSync('/sys/fs/cgroup') ? readdirSync('/sys/fs/cgroup') : []) {
        if (existsSync(join('/sys/fs/cgroup', h, cgroupParent))) left.push(`cgroup ${join('/sys/fs/cgroup', h, cgroupParent)}`);
      }
      return left;
    },
  };
}

/**
 * podman with its own storage, run dir and tmp dir under the bench's temp
 * dir, so the host's podman state is neither used nor touched. No network
 * (nothing to pull from; the image is imported), cgroupfs (no systemd here),
 * and ulimits the sandbox allows: podman's defaults raise them above the
 * hard limits, which fails without CAP_SYS_RESOURCE.
 */
async function podmanPeer(tmp: string, tarball: string, o: PodStartOptions): Promise<PeerRunner> {
  await ensureInstalled('podman', 'podman', o, 10 * 60_000);
  const dir = join(tmp, 'podman');
  const g = ['--root', join(dir, 'root'), '--runroot', join(dir, 'run'), '--tmpdir', join(dir, 'tmp'), '--cgroup-manager', 'cgroupfs', '--events-backend', 'file'];
  const podman = async (args: string[], timeoutMs = 60_000): Promise<Ran> => runCmd('podman', [...g, ...args], { timeoutMs });
  const image = 'localhost/lodge-bench-busybox:latest';
  const imp = await podman(['import', '--change', 'CMD ["sh"]', tarball, image]);
  if (imp.code !== 0) throw new Error(`podman import failed: ${lastLine(imp.stderr)}`);
  const version = lastLine((await podman(['version', '--format', '{{.Client.Version}}'])).stdout);
  const runtime = lastLine((await podman(['info', '--format', '{{.Host.OCIRuntime.Name}}'])).stdout);
  const ulimits = ['--ulimit', 'nofile=1024:1024', '--ulimit', 'nproc=4096:4096'];
  const remove = async (id: string): Promise<void> => {
    const r = await podman(['rm', '-f', '-t', '0', id]);
    if (r.code !== 0) throw new Error(`podman rm ${id}: ${lastLine(r.stderr)}`);
  };
  const runner: PeerRunner = {
    name: 'podman',
    figure: `podman run -d (${version}, ${runtime || 'runc'}, --network none)`,
    note: 'returns once the container process runs',
    command: `podman ${g.map((a) => (a.startsWith(dir) ? a.replace(dir, 'DIR') : a)).join(' ')} run -d --name NAME --network none ${ulimits.join(' ')} ${image} sleep 3600 (the ulimits: podman's defaults exceed the hard limits here and setting them needs CAP_SYS_RESOURCE, which this sandbox lacks); then podman rm -f -t 0`,
    async start(i) {
      const r = await podman(['run', '-d', '--name', `lodge-bench-${i}`, '--network', 'none', ...ulimits, image, 'sleep', '3600']);
      if (r.code !== 0) throw new Error(`podman run failed (exit ${r.code}): ${lastLine(r.stderr)}`);
      return { ms: r.ms, handle: lastLine(r.stdout) };
    },
    remove,
    async cleanup() {
      await podman(['rm', '-a', '-f', '-t', '0']);
      await podman(['rmi', '-a', '-f']);
      // The overlay mounts it may still hold (storage root and its shm), then the dir.
      await podman(['system', 'reset', '--force'], 120_000);
      for (const m of mountsUnder([dir]).reverse()) spawnSync('umount', ['-l', m]);
      rmSync(dir, { recursive: true, force: true });
    },
    async leftovers() {
      const left = mountsUnder([dir]).map((m) => `podman mount ${m}`);
      for (const pid of pids()) {
        const a = cmdline(pid).join(' ');
        if (a.includes(dir)) left.push(`process ${pid}: ${a.slice(0, 120)}`);
      }
      return left;
    },
  };
  // A run that fails here is a setup problem: say so before any sample is taken.
  const probe = await runner.start(-1);
  await runner.remove(probe.handle);
  return runner;
}

// ---- the bench -----------------------------------------------------------------

export async function runPodStartBench(o: PodStartOptions): Promise<PodStartResult> {
  if (process.getuid?.() !== 0) throw new Error('the pod-start bench needs root (runc, conmon, mounts)');
  for (const b of ['runc', 'conmon', 'busybox']) if (!which(b)) throw new Error(`${b} is needed: node scripts/setup.mjs`);
  const tmp = mkdtempSync(join(tmpdir(), 'lodge-bench-ps-'));
  const details: string[] = [];
  const uids = new Set<string>();
  const peers: PeerRunner[] = [];
  const skipped = new Map<Peer, string>();
  let lodge: RunningLodge | undefined;
  let watch: ResourceWatch | undefined;
  let api: Conn | undefined;
  const leftovers: string[] = [];

  const lodgeLeftovers = (): string[] => {
    const left: string[] = [];
    for (const uid of uids) {
      if (existsSync(join(LODGE_RUNC_ROOT, containerId(uid)))) left.push(`runc container ${containerId(uid)}`);
      if (existsSync(`/run/netns/lodge-${uid}`)) left.push(`netns lodge-${uid}`);
    }
    for (const pid of pids()) {
      const a = cmdline(pid);
      if (!a[0]?.endsWith('conmon') && !a[0]?.endsWith('runc')) continue;
      const s = a.join(' ');
      if ([...uids].some((u) => s.includes(u)) || s.includes(tmp)) left.push(`process ${pid}: ${s.slice(0, 120)}`);
    }
    const mine = [...uids];
    for (const l of readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
      const m = l.split(' ')[4] ?? '';
      if (m.startsWith(`${tmp}/`) || mine.some((u) => m.includes(u))) left.push(`mount ${m}`);
    }
    return left;
  };
  /** Last resort for what the agent did not remove: by this run's pod uids only. */
  const sweepLodge = (): void => {
    for (const uid of uids) {
      spawnSync('runc', ['--root', LODGE_RUNC_ROOT, 'delete', '--force', containerId(uid)]);
      spawnSync('ip', ['netns', 'del', `lodge-${uid}`]);
    }
    for (const l of lodgeLeftovers()) if (l.startsWith('mount ')) spawnSync('umount', ['-l', l.slice(6)]);
  };

  let cleaning: Promise<void> | undefined;
  const cleanup = (): Promise<void> =>
    (cleaning ??= (async () => {
      if (lodge && api) {
        // Pods first, through the API, while the agent runs: it stops them.
        try {
          const list = JSON.parse((await call(api, lodge, 'GET', `/api/v1/namespaces/${NS}/pods`)).text) as { items: any[] };
          await Promise.all(list.items.map((p) => call(api!, lodge!, 'DELETE', `/api/v1/namespaces/${NS}/pods/${p.metadata.name}`, { ok: [200, 202, 404] }).catch(() => undefined)));
          const t = Date.now() + 120_000;
          while (Date.now() < t) {
            const l = JSON.parse((await call(api, lodge, 'GET', `/api/v1/namespaces/${NS}/pods`)).text) as { items: any[] };
            if (l.items.length === 0) break;
            await sleep(250);
          }
        } catch (e) {
          o.log(`cleanup: deleting pods: ${(e as Error).message}`);
        }
      }
      await watch?.close().catch(() => undefined);
      if (api) await closeAll([api]);
      for (const p of peers) await p.cleanup().catch((e: Error) => o.log(`cleanup ${p.name}: ${e.message}`));
      if (lodgeLeftovers().length) sweepLodge();
      if (lodge) {
        const t = nowMs();
        const exit = await lodge.stop();
        if (exit.code !== 0) {
          o.log(`lodge up exited with ${exit.code ?? exit.signal}`);
          details.push(`lodge up exited with ${exit.code ?? exit.signal} ${((nowMs() - t) / 1000).toFixed(1)} s after SIGTERM (a SIGKILL comes after 30 s), with no Pods left`);
        }
      }
      // The check the bench owes the host: nothing of this run is left.
      leftovers.push(...lodgeLeftovers());
      for (const p of peers) leftovers.push(...(await p.leftovers().catch((e: Error) => [`${p.name}: ${e.message}`])));
      for (const m of mountsUnder([tmp])) leftovers.push(`mount ${m}`);
      if (!leftovers.some((l) => l.startsWith('mount '))) rmSync(tmp, { recursive: true, force: true });
      else leftovers.push(`temp dir ${tmp} kept (mounts under it)`);
    })());
  const onSignal = (): void => void cleanup().finally(() => process.exit(130));
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  const start: StartRow[] = [];
  let burst: PodStartResult['burst'];
  let memory: PodStartResult['memory'];
  try {
    // The image store's busybox, as a plain directory (runc) and a tarball (podman).
    const images = await ImageStore.open({ root: join(tmp, 'images') });
    await images.ensureBuiltin('busybox');
    const prepared = await images.prepare('busybox');
    if (prepared.rootfs.lowerDirs.length !== 1) throw new Error(`busybox has ${prepared.rootfs.lowerDirs.length} layers; expected one`);
    const rootfs = join(tmp, 'busybox-rootfs');
    const cp = spawnSync('cp', ['-a', prepared.rootfs.lowerDirs[0]!, rootfs]);
    if (cp.status !== 0) throw new Error(`cp busybox layer: ${cp.stderr}`);
    const tarball = join(tmp, 'busybox.tar');
    const tar = spawnSync('tar', ['-C', rootfs, '-cf', tarball, '.']);
    if (tar.status !== 0) throw new Error(`tar busybox: ${tar.stderr}`);
    details.push(`image: the image store's built-in busybox (${prepared.digest.slice(0, 19)}…), one layer; runc runs a copy of that layer as a plain directory, podman and LXD import it as a tarball`);

    lodge = await startLodge({ agent: true, parent: tmp, upArgs: ['--node-name', NODE, '--compact-interval', '3600'], env: { LODGE_LOG_LEVEL: 'warn' } });
    o.log(`lodge up: pid ${lodge.pid} at ${lodge.url}`);
    api = connect(lodge, 'h1');
    const nodeReadyBy = Date.now() + 60_000;
    for (;;) {
      const r = await call(api, lodge, 'GET', `/api/v1/nodes/${NODE}`, { ok: [200, 404] });
      const n = r.status === 200 ? (JSON.parse(r.text) as any) : undefined;
      if (n?.status?.conditions?.some((c: any) => c.type === 'Ready' && c.status === 'True')) break;
      if (Date.now() > nodeReadyBy) throw new Error(`node ${NODE} not Ready after 60 s:\n${lodge.logTail()}`);
      await sleep(100);
    }
    await call(api, lodge, 'POST', '/api/v1/namespaces', { body: JSON.stringify({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS } }) });
    watch = await ResourceWatch.open(lodge, `/api/v1/namespaces/${NS}/pods`);
    const w = watch;
    const l = lodge;
    const c = api;

    const createPod = async (name: string, conn: Conn = c): Promise<string> => {
      const r = await call(conn, l, 'POST', `/api/v1/namespaces/${NS}/pods`, { body: JSON.stringify(podManifest(name)), ok: [201] });
      const uid = String((JSON.parse(r.text) as any).metadata.uid);
      uids.add(uid);
      return uid;
    };
    const deletePods = async (names: string[], timeoutMs: number): Promise<void> => {
      await Promise.all(names.map((n) => call(c, l, 'DELETE', `/api/v1/namespaces/${NS}/pods/${n}`, { ok: [200, 202] })));
      await w.until(`${names.length} pods deleted`, () => names.every((n) => w.seen.get(n)?.deleted !== undefined), timeoutMs);
    };

    // ---- 1. one Pod at a time, against the peers ------------------------------
    const lodgeProc: number[] = [];
    const lodgePhase: number[] = [];
    const lodgePost: number[] = [];
    const peerSamples = new Map<string, number[]>();
    for (const p of ALL_PEERS.filter((x) => o.peers.has(x))) {
      try {
        o.log(`setting up ${p}`);
        const runner = p === 'runc' ? await runcPeer(tmp, rootfs) : p === 'podman' ? await podmanPeer(tmp, tarball, o) : await lxdPeer(tmp, rootfs, o);
        peers.push(runner);
        peerSamples.set(runner.name, []);
      } catch (e) {
        skipped.set(p, (e as Error).message);
        o.log(`${p}: skipped: ${(e as Error).message}`);
      }
    }
    for (let i = -o.warmup; i < o.runs; i++) {
      const name = `seq-${i + o.warmup}`;
      const t0 = nowMs();
      const uid = await createPod(name);
      const tPost = nowMs();
      // The container process, seen on the host: polled every 2 ms.
      let tProc: number | undefined;
      const poll = (async () => {
        const by = Date.now() + 120_000;
        while (tProc === undefined && Date.now() < by) {
          if (containerProcess(uid) !== undefined) tProc = nowMs();
          else await sleep(2);
        }
      })();
      await w.until(`${name} Running`, () => w.seen.get(name)?.running !== undefined, i < 0 ? 180_000 : 60_000);
      await poll;
      if (tProc === undefined) throw new Error(`${name}: Running in the API but no container process on the host`);
      if (i >= 0) {
        lodgePost.push(tPost - t0);
        lodgeProc.push(tProc - t0);
        lodgePhase.push(w.seen.get(name)!.running! - t0);
      }
      await deletePods([name], 60_000);
      for (const p of peers) {
        if (skipped.has(p.name as Peer)) continue;
        try {
          const s = await p.start(i);
          if (i >= 0) peerSamples.get(p.name)!.push(s.ms);
          await p.remove(s.handle);
        } catch (e) {
          skipped.set(p.name as Peer, `failed in run ${i}: ${(e as Error).message}`);
          o.log(`${p.name}: ${(e as Error).message}`);
        }
      }
      if (i >= 0 && (i + 1) % 5 === 0) o.log(`start: ${i + 1}/${o.runs} runs`);
    }
    start.push({ figure: 'Lodge: POST → container process running (host)', samples: lodgeProc, note: 'polled every 2 ms: its init pid no longer `runc init`' });
    start.push({ figure: 'Lodge: POST → status.phase Running (watch)', samples: lodgePhase, note: 'what a client sees' });
    for (const p of ALL_PEERS.filter((x) => o.peers.has(x))) {
      const runner = peers.find((r) => r.name === p);
      const why = skipped.get(p);
      start.push({
        figure: runner?.figure ?? ({ runc: 'runc run -d', podman: 'podman run -d', lxd: 'lxc launch' } as const)[p],
        samples: why ? [] : (peerSamples.get(p) ?? []),
        skipped: why,
        note: runner?.note,
      });
    }
    details.push(
      `start: ${o.runs} runs after ${o.warmup} unmeasured, Lodge and each peer in turn within a run; each container deleted before the next starts. ` +
        `The POST itself took median ${median(lodgePost).toFixed(1)} ms. A Pod is busybox \`sleep 3600\` in its own network namespace (loopback) with a 1 s grace period.`,
    );

    // ---- 3. idle Pods: host memory per Pod -------------------------------------
    if (o.idle > 0) {
      const rssSamples = async (): Promise<number> => {
        const xs: number[] = [];
        for (let k = 0; k < 5; k++) {
          xs.push(vmRssKiB(l.pid));
          await sleep(500);
        }
        return median(xs);
      };
      await sleep(2000);
      const before = await rssSamples();
      const names = Array.from({ length: o.idle }, (_, k) => `idle-${k}`);
      const idleUids = new Map<string, string>();
      for (const n of names) idleUids.set(n, await createPod(n));
      await w.until(`${o.idle} idle pods Running`, () => names.every((n) => w.seen.get(n)?.running !== undefined), 300_000);
      await sleep(3000); // let status writes and the agent's first syncs settle
      const after = await rssSamples();
      let conmonPss = 0;
      let conmonRss = 0;
      let ctrPss = 0;
      let found = 0;
      const conmons = new Map<string, number>();
      for (const pid of pids()) {
        const a = cmdline(pid);
        if (!a[0]?.endsWith('conmon')) continue;
        const i = a.indexOf('--cid');
        if (i >= 0) conmons.set(a[i + 1]!, pid);
      }
      for (const uid of idleUids.values()) {
        const cp = conmons.get(containerId(uid));
        const m = cp === undefined ? undefined : memKiB(cp);
        const ctr = containerProcess(uid);
        const cm = ctr === undefined ? undefined : memKiB(ctr);
        if (!m || !cm) continue;
        found++;
        conmonPss += m.pss;
        conmonRss += m.rss;
        ctrPss += cm.pss;
      }
      if (found !== o.idle) throw new Error(`idle: found conmon and container for ${found} of ${o.idle} pods`);
      memory = {
        pods: o.idle,
        conmonPssKiB: conmonPss / found,
        conmonRssKiB: conmonRss / found,
        containerPssKiB: ctrPss / found,
        lodgeRssBeforeKiB: before,
        lodgeRssAfterKiB: after,
        lodgeGrowthKiB: (after - before) / o.idle,
      };
      details.push(
        `idle memory: ${o.idle} idle Pods Running, 3 s settled; PSS and RSS from /proc/PID/smaps_rollup of each Pod's conmon (found by --cid) and its container process; ` +
          `lodge up's VmRSS (median of 5 samples over 2.5 s) before the Pods were created and after, divided by ${o.idle} — includes V8 heap growth and GC timing, so read it as an order of magnitude`,
      );
      o.log(`idle: conmon PSS ${memory.conmonPssKiB.toFixed(0)} KiB/pod, lodge +${memory.lodgeGrowthKiB.toFixed(0)} KiB/pod`);
      await deletePods(names, 180_000);
    }

    // ---- 2. many Pods at once ----------------------------------------------------
    if (o.pods > 0) {
      await sleep(1000);
      const names = Array.from({ length: o.pods }, (_, k) => `burst-${k}`);
      const conns = Array.from({ length: Math.min(10, o.pods) }, () => connect(l, 'h1'));
      try {
        const t0 = nowMs();
        await Promise.all(names.map((n, k) => createPod(n, conns[k % conns.length]!)));
        const tPosts = nowMs();
        await w.until(`${o.pods} pods Running`, () => names.every((n) => w.seen.get(n)?.running !== undefined), 600_000);
        const each = names.map((n) => w.seen.get(n)!.running! - t0);
        const totalMs = Math.max(...each);
        burst = { pods: o.pods, totalMs, perPodMs: totalMs / o.pods, each: summarize(each), postsMs: tPosts - t0 };
        details.push(
          `burst: ${o.pods} Pods POSTed at once over ${conns.length} connections (all created after ${burst.postsMs.toFixed(0)} ms); time from the first POST until each Pod's phase Running reached the watch`,
        );
        o.log(`burst: ${o.pods} pods Running after ${totalMs.toFixed(0)} ms`);
      } finally {
        await closeAll(conns);
      }
      await deletePods(names, 300_000);
    }
    details.unshift(`load average (1/5/15 min) at the end: ${loadavg().map((x) => x.toFixed(2)).join(' / ')} — other work on this machine shares its ${machineInfo().nproc} cores`);
  } catch (e) {
    if (lodge) o.log(`server log tail:\n${lodge.logTail()}`);
    throw e;
  } finally {
    await cleanup();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
  for (const p of peers) if (!skipped.has(p.name as Peer)) details.push(`${p.name}: ${p.command}`);
  for (const [p, why] of skipped) details.push(`${p}: not measured: ${why}`);
  return { start, burst, memory, details, lodgeCommand: lodge?.command ?? '', leftovers };
}

// ---- reporting -------------------------------------------------------------------

const ms = (x: number): string => (Number.isFinite(x) ? x.toFixed(x < 100 ? 1 : 0) : '–');

interface Verdict {
  text: string;
}

function verdicts(res: PodStartResult): Verdict[] {
  const med = (prefix: string): number | undefined => {
    const r = res.start.find((s) => s.figure.startsWith(prefix));
    return r && r.samples.length ? median(r.samples) : undefined;
  };
  const lodge = med('Lodge: POST → status.phase');
  const proc = med('Lodge: POST → container');
  const out: Verdict[] = [];
  if (lodge === undefined) return out;
  const runc = med('runc');
  const podman = med('podman');
  const lxd = med('lxc');
  if (runc !== undefined) {
    const r = lodge / runc;
    out.push({ text: `Lodge (phase Running) / runc = ${r.toFixed(2)}× (target ≤ 2×): ${r <= 2 ? 'PASS' : 'MISS'}; container process running / runc = ${(proc! / runc).toFixed(2)}×` });
  }
  for (const [name, v] of [
    ['podman', podman],
    ['LXD', lxd],
  ] as const) {
    if (v === undefined) out.push({ text: `${name} / Lodge: not measured` });
    else out.push({ text: `${name} / Lodge (phase Running) = ${(v / lodge).toFixed(2)}× (target ≥ 3×): ${v / lodge >= 3 ? 'PASS' : 'MISS'}` });
  }
  return out;
}

export function formatReport(res: PodStartResult, markdown: boolean): string {
  const runc = res.start.find((s) => s.figure.startsWith('runc') && s.samples.length);
  const runcMed = runc ? median(runc.samples) : undefined;
  const head = ['start to running (ms)', 'median', 'p90', 'max', 'vs runc', 'note'];
  const rows = res.start.map((r) => {
    if (!r.samples.length) return [r.figure, '–', '–', '–', '', `not measured: ${r.skipped ?? 'no samples'}`];
    const s = summarize(r.samples);
    return [r.figure, ms(s.p50), ms(s.p90), ms(s.max), runcMed ? `${(s.p50 / runcMed).toFixed(2)}×` : '', r.note ?? ''];
  });
  const other: string[][] = [];
  if (res.burst) {
    const b = res.burst;
    other.push([`${b.pods} Pods at once: all Running`, `${ms(b.totalMs)} ms`, `${ms(b.perPodMs)} ms/Pod; each Pod from the first POST: median ${ms(b.each.p50)} ms, p90 ${ms(b.each.p90)} ms`]);
  }
  if (res.memory) {
    const m = res.memory;
    other.push([`idle Pod (${m.pods} running): conmon`, `${m.conmonPssKiB.toFixed(0)} KiB/Pod PSS`, `${m.conmonRssKiB.toFixed(0)} KiB/Pod RSS`]);
    other.push([`idle Pod (${m.pods} running): container (sleep)`, `${m.containerPssKiB.toFixed(0)} KiB/Pod PSS`, '']);
    other.push([
      `idle Pod (${m.pods} running): lodge up RSS growth`,
      `${m.lodgeGrowthKiB.toFixed(0)} KiB/Pod`,
      `${(m.lodgeRssBeforeKiB / 1024).toFixed(1)} MiB before, ${(m.lodgeRssAfterKiB / 1024).toFixed(1)} MiB after`,
    ]);
  }
  const table = (h: string[], body: string[][], numeric: number[]): string => {
    if (markdown) return [`| ${h.join(' | ')} |`, `|${h.map((_, i) => (numeric.includes(i) ? '---:' : '---')).join('|')}|`, ...body.map((b) => `| ${b.join(' | ')} |`)].join('\n');
    const widths = h.map((x, i) => Math.max(x.length, ...body.map((b) => b[i]!.length)));
    const line = (cells: string[]): string => cells.map((c, i) => (numeric.includes(i) ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join('  ').trimEnd();
    return [line(h), line(widths.map((x) => '-'.repeat(x))), ...body.map(line)].join('\n');
  };
  const parts = [table(head, rows, [1, 2, 3, 4]), '', ...verdicts(res).map((v) => (markdown ? `- ${v.text}` : v.text))];
  if (other.length) parts.push('', table(['figure', 'value', 'detail'], other, [1]));
  parts.push('', res.leftovers.length ? `cleanup check: LEFT BEHIND: ${res.leftovers.join('; ')}` : 'cleanup check: nothing left (no container, conmon, runc, mount or netns of this run)');
  return parts.join('\n');
}

export function resultsSection(res: PodStartResult, command: string, o: PodStartOptions): string {
  const date = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
  return [
    `Date: ${date}`,
    '',
    `Command: \`${command}\``,
    '',
    `Machine: ${describeMachine(machineInfo())}`,
    '',
    `Server: \`${res.lodgeCommand}\` with its node agent (a child process in a temporary data dir), driven over HTTPS on loopback with the admin bearer token; ` +
      `Pod status read from one watch on the namespace. ${o.runs} measured runs per figure.`,
    '',
    formatReport(res, true),
    '',
    ...res.details.map((d) => `- ${d}`),
  ].join('\n');
}

// ---- command line ----------------------------------------------------------------

export function parsePodStartArgs(argv: string[], log: (l: string) => void): { opts: PodStartOptions; write: boolean } {
  const { values } = parseArgs({
    args: argv,
    options: {
      runs: { type: 'string' },
      warmup: { type: 'string' },
      pods: { type: 'string' },
      idle: { type: 'string' },
      peers: { type: 'string' },
      'no-install': { type: 'boolean' },
      'no-write': { type: 'boolean' },
    },
    strict: true,
  });
  const num = intArg;
  const peers = peerSet(values.peers, ALL_PEERS);
  return {
    write: !values['no-write'],
    opts: {
      runs: num(values.runs, DEFAULTS.runs, 'runs'),
      warmup: num(values.warmup, DEFAULTS.warmup, 'warmup', 0),
      pods: num(values.pods, DEFAULTS.pods, 'pods', 0),
      idle: num(values.idle, DEFAULTS.idle, 'idle', 0),
      peers,
      install: !values['no-install'],
      log,
    },
  };
}

/** Run, print the report, refresh RESULTS.md (unless told not to). */
export async function podStartMain(argv: string[], command: string): Promise<void> {
  const log = (l: string): void => void process.stderr.write(`bench: ${l}\n`);
  const { opts, write } = parsePodStartArgs(argv, log);
  const res = await runPodStartBench(opts);
  process.stdout.write(`\nLodge Pod start — ${describeMachine(machineInfo())}\n${opts.runs} runs, busybox \`sleep 3600\`\n\n${formatReport(res, false)}\n\n${res.details.map((d) => `- ${d}`).join('\n')}\n`);
  if (write) {
    writeSection(RESULTS_MD, SECTION, resultsSection(res, command, opts));
    process.stdout.write(`\nwrote ${relative(process.cwd(), RESULTS_MD) || RESULTS_MD}\n`);
  }
  if (res.leftovers.length) throw new Error(`left behind on the host: ${res.leftovers.join('; ')}`);
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  podStartMain(process.argv.slice(2), commandLine()).catch((e: Error) => {
    process.stderr.write(`bench: ${e.stack ?? e.message}\n`);
    process.exit(1);
  });
}
