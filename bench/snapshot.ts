// Snapshots, clones and templates, end to end through the API of a real
// `lodge up` (child process, temporary data dir, its in-process node agent),
// side by side in one run with the primitives and peers underneath:
//   1. VM clones whatever the disk's size: busybox-vm VMs with a 1 GiB and a
//      20 GiB disk (64 MiB written in the guest), stopped, snapshotted; N
//      linked copies of each (Halted) from the snapshot and from the current
//      state, timed POST → status.phase Stopped (reason Halted: the agent
//      made the copy's disk before it reports that); --full copies; against
//      `qemu-img create -b` of an overlay on the same layer (the floor);
//   2. snapshot (POST → Ready) and restore (request → status.restore
//      Succeeded) of a stopped VM, and of a running one;
//   3. stateful snapshot and restore of a running 512 MiB VM, against a
//      hand-written QEMU saving its state with QMP migrate to `exec:cat > f`
//      and loading it with -incoming;
//   4. templates: 50 system containers launched at once from an Image
//      published from a stopped container, and 50 linked VM copies (Halted)
//      of one VM snapshot: total time and disk used beyond the template;
//   5. system containers against LXD (dir pool): snapshot, restore, copy
//      of a snapshot, copy of the container, on containers holding 64 MiB.
//
//   node dist/bench/snapshot.js [--copies 10] [--runs 3] [--template 50]
//                               [--peers lxd|none] [--no-install] [--no-write]
//
// Root only. Everything is deleted through the API (Instances, Images; their
// Snapshots go with them), stopped by PID (lodge up, raw QEMU) or by name
// (LXD); the run ends with a check that nothing of it is left. Nothing here
// asserts a timing.
import { pidAlive as alive } from '../src/agent/drivers/container/proc.js';
import { intArg, peerSet } from './lib/args.js';
import { spawn, spawnSync, execFileSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { loadavg } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { kernelCmdline } from '../src/agent/drivers/vm/qemu-args.js';
import { QmpClient } from '../src/agent/drivers/vm/qmp/index.js';
import { loadUri, saveUri } from '../src/agent/drivers/vm/migration.js';
import { ImageStore } from '../src/agent/images/index.js';
import { DEFAULT_BOOT_PROFILE, profileCmdline } from '../src/agent/images/vm/boot-profile.js';
import { GUEST_READY_MARKER } from '../src/agent/images/vm/busybox-vm.js';
import { RawVm, rawQemuArgs, type RawBootOptions } from '../src/agent/images/vm/raw-boot.js';
import { VmImages } from '../src/agent/images/vm/vm-images.js';
import { instanceId } from '../src/agent/instances/ids.js';
import type { VmSpec } from '../src/agent/runtime/driver.js';
import { readStorageRecord } from '../src/agent/storage/storage-record.js';
import { commandLine, RESULTS_MD } from './api.js';
import { authHeaders, call, closeAll, connect, type Conn } from './lib/http.js';
import { cmdline, lastLine, pids, runCmd, which, type Ran } from './lib/host.js';
import { startLodge, type RunningLodge } from './lib/lodge.js';
import { describeMachine, machineInfo } from './lib/machine.js';
import { ObjectWatch, type WatchedObject } from './lib/object-watch.js';
import { lxdPeer, type LxdPeer } from './lib/peers.js';
import { writeSection } from './lib/results-md.js';
import { median, nowMs, sleep, summarize } from './lib/stats.js';

export const SECTION = 'Step 4 — Snapshots, clones, templates';
const NODE = 'bench';
const NS = 'snapshot-bench';
const GROUP = '/apis/lodge.dev/v1alpha1';
const INSTANCES = `${GROUP}/namespaces/${NS}/instances`;
const SNAPSHOTS = `${GROUP}/namespaces/${NS}/snapshots`;
const IMAGES = `${GROUP}/images`;
const CLI = resolve(dirname(fileURLToPath(import.meta.url)), '..', 'src', 'cli', 'main.js');
const DATA_MIB = 64;
const TARGET_MS = 200;
const TEMPLATE_TARGET = 0.05;
const WRITE_DATA = `dd if=/dev/urandom of=/data.bin bs=1M count=${DATA_MIB} 2>/dev/null && sync && ls -l /data.bin`;

export interface SnapshotBenchOptions {
  copies: number;
  runs: number;
  template: number;
  lxd: boolean;
  install: boolean;
  log: (line: string) => void;
}

export const DEFAULTS = { copies: 10, runs: 3, template: 50 };

export interface Row {
  section: string;
  figure: string;
  samples: number[];
  /** Median target in ms (PASS when the median is under it). */
  targetMs?: number;
  /** Figure of the row this one is compared with (its median / that one's). */
  vs?: string;
  note?: string;
  skipped?: string;
}

export interface SnapshotBenchResult {
  rows: Row[];
  /** Figures that are not latencies: sizes, totals. */
  facts: { figure: string; value: string; detail: string; verdict?: string }[];
  details: string[];
  accelerator: string;
  qemuVersion: string;
  lodgeCommand: string;
  leftovers: string[];
}

// ---- small helpers --------------------------------------------------------------------

const msf = (x: number): string => (Number.isFinite(x) ? x.toFixed(x < 100 ? 1 : 0) : '–');
const mib = (bytes: number): string => (Number.isFinite(bytes) ? `${(bytes / 2 ** 20).toFixed(1)} MiB` : '–');

/** Bytes `du` says the paths take (allocated blocks), 0 for none. */
function duBytes(paths: string[]): number {
  const there = paths.filter((p) => existsSync(p));
  if (!there.length) return 0;
  const r = spawnSync('du', ['-scB1', ...there], { encoding: 'utf8' });
  return Number(/^(\d+)\s+total$/m.exec(r.stdout)?.[1] ?? NaN);
}


const stat = (o: WatchedObject | undefined): Record<string, unknown> => o?.status ?? {};
const str = (v: unknown): string => (typeof v === 'string' ? v : v === undefined ? '' : JSON.stringify(v));

function check(ran: Ran, what: string): Ran {
  if (ran.code !== 0) throw new Error(`${what}: exit ${ran.code}: ${lastLine(ran.stderr) || lastLine(ran.stdout)}`);
  return ran;
}

// ---- the bench ----------------------------------------------------------------------------

export async function runSnapshotBench(o: SnapshotBenchOptions): Promise<SnapshotBenchResult> {
  if (process.getuid?.() !== 0) throw new Error('the snapshot bench needs root (runc, QEMU in cgroups, mounts)');
  for (const b of ['runc', 'conmon', 'qemu-system-x86_64', 'qemu-img']) if (!which(b)) throw new Error(`${b} is needed: node scripts/setup.mjs`);
  // Short: QEMU's sockets live under DATA_DIR/runtime/vms/i-<uid>/ and a unix socket path has 107 bytes.
  const tmp = mkdtempSync('/tmp/lsn-');
  const rows: Row[] = [];
  const facts: SnapshotBenchResult['facts'] = [];
  const details: string[] = [];
  const leftovers: string[] = [];
  const uids = new Set<string>();
  const rawChildren = new Set<ChildProcess>();
  const images = new Set<string>();
  let lodge: RunningLodge | undefined;
  let api: Conn | undefined;
  let iw: ObjectWatch | undefined;
  let sw: ObjectWatch | undefined;
  let imw: ObjectWatch | undefined;
  let lxd: LxdPeer | undefined;
  let accelerator = '?';
  const qemuVersion = lastLine(execFileSync('qemu-system-x86_64', ['--version'], { encoding: 'utf8' }).split('\n')[0] ?? '').replace(/^QEMU emulator version /, '');

  const ourProcesses = (): string[] => {
    const out: string[] = [];
    for (const pid of pids()) {
      if (pid === process.pid || (lodge && pid === lodge.pid && alive(lodge.pid))) continue;
      const s = cmdline(pid).join(' ');
      if (s && (s.includes(tmp) || [...uids].some((u) => s.includes(u)))) out.push(`process ${pid}: ${s.slice(0, 140)}`);
    }
    return out;
  };
  const ourMounts = (): string[] =>
    readFileSync('/proc/self/mountinfo', 'utf8')
      .split('\n')
      .map((l) => l.split(' ')[4] ?? '')
      .filter((m) => m.startsWith(`${tmp}/`) || [...uids].some((u) => m.includes(u)));

  let cleaning: Promise<void> | undefined;
  const cleanup = (): Promise<void> =>
    (cleaning ??= (async () => {
      for (const c of rawChildren) if (c.pid !== undefined && c.exitCode === null && c.signalCode === null) process.kill(c.pid, 'SIGKILL');
      if (lodge && api) {
        const l = lodge;
        const c = api;
        try {
          // Linked copies first: a source (and a snapshot) waits for the copies reading it.
          for (let pass = 0; pass < 2; pass++) {
            const list = JSON.parse((await call(c, l, 'GET', INSTANCES)).text) as { items: WatchedObject[] };
            const pick = list.items.filter((i) => (pass === 0 ? i.spec?.source !== undefined : true));
            await Promise.all(pick.map((i) => call(c, l, 'DELETE', `${INSTANCES}/${i.metadata.name}`, { ok: [200, 202, 404] }).catch(() => undefined)));
            const by = Date.now() + 180_000;
            for (;;) {
              const left = (JSON.parse((await call(c, l, 'GET', INSTANCES)).text) as { items: WatchedObject[] }).items.filter((i) => (pass === 0 ? i.spec?.source !== undefined : true));
              if (!left.length) break;
              if (Date.now() > by) {
                leftovers.push(`${left.length} Instances still in the API after 180 s: ${left.map((i) => `${i.metadata.name} ${str(i.status?.reason)} ${str(i.status?.message)}`).join('; ')}`);
                break;
              }
              await sleep(250);
            }
          }
          for (const name of images) await call(c, l, 'DELETE', `${IMAGES}/${name}`, { ok: [200, 202, 404] }).catch(() => undefined);
          const snaps = (JSON.parse((await call(c, l, 'GET', SNAPSHOTS)).text) as { items: WatchedObject[] }).items;
          if (snaps.length) {
            await sleep(2000);
            const again = (JSON.parse((await call(c, l, 'GET', SNAPSHOTS)).text) as { items: WatchedObject[] }).items;
            if (again.length) leftovers.push(`${again.length} Snapshots still in the API: ${again.map((s) => s.metadata.name).join(', ')}`);
          }
        } catch (e) {
          leftovers.push(`deleting through the API failed: ${(e as Error).message}`);
        }
      }
      await Promise.all([iw?.close(), sw?.close(), imw?.close()].map((p) => p?.catch(() => undefined)));
      if (api) await closeAll([api]);
      if (lxd) await lxd.cleanup().catch((e: Error) => o.log(`cleanup lxd: ${e.message}`));
      if (lodge) {
        await lodge.stop();
        if (alive(lodge.pid)) leftovers.push(`lodge up ${lodge.pid} still running`);
      }
      // The check the bench owes the host: no QEMU, conmon or mount of this run is left.
      leftovers.push(...ourProcesses());
      for (const m of ourMounts()) leftovers.push(`mount ${m}`);
      if (lxd) leftovers.push(...(await lxd.leftovers().catch((e: Error) => [`lxd: ${e.message}`])));
      if (!leftovers.some((x) => x.startsWith('mount ') || x.startsWith('process '))) {
        rmSync(tmp, { recursive: true, force: true });
        if (existsSync(tmp)) leftovers.push(`temp dir ${tmp}`);
      } else leftovers.push(`temp dir ${tmp} kept (something of it still runs or is mounted)`);
    })());
  const onSignal = (): void => void cleanup().finally(() => process.exit(130));
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  try {
    lodge = await startLodge({ agent: true, parent: tmp, upArgs: ['--node-name', NODE, '--compact-interval', '3600'], env: { LODGE_LOG_LEVEL: 'warn' } });
    o.log(`lodge up: pid ${lodge.pid} at ${lodge.url}`);
    const l = lodge;
    api = connect(l, 'h1');
    const c = api;
    const nodeBy = Date.now() + 60_000;
    for (;;) {
      const r = await call(c, l, 'GET', `/api/v1/nodes/${NODE}`, { ok: [200, 404] });
      const n = r.status === 200 ? (JSON.parse(r.text) as { status?: { conditions?: { type: string; status: string }[] } }) : undefined;
      if (n?.status?.conditions?.some((x) => x.type === 'Ready' && x.status === 'True')) break;
      if (Date.now() > nodeBy) throw new Error(`node ${NODE} not Ready after 60 s:\n${l.logTail()}`);
      await sleep(100);
    }
    await call(c, l, 'POST', '/api/v1/namespaces', { body: JSON.stringify({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS } }) });
    iw = await ObjectWatch.open(l, INSTANCES);
    sw = await ObjectWatch.open(l, SNAPSHOTS);
    imw = await ObjectWatch.open(l, IMAGES);
    const insts = iw;
    const snaps = sw;
    const imgs = imw;

    // ---- API helpers -----------------------------------------------------------------
    const instDir = (uid: string): string => join(l.dataDir, 'instances', uid);
    const vmRuntimeDir = (uid: string): string => join(l.dataDir, 'runtime', 'vms', instanceId(uid));
    const uidOf = (name: string): string => String(insts.latest.get(name)?.obj?.metadata.uid ?? '');
    const patch = async (path: string, body: object): Promise<void> => {
      const r = await c.client.request({ method: 'PATCH', path, headers: { ...authHeaders(l), 'content-type': 'application/merge-patch+json' }, body: JSON.stringify(body) });
      const text = await r.body.text();
      if (r.statusCode !== 200) throw new Error(`PATCH ${path}: HTTP ${r.statusCode}: ${text.slice(0, 300)}`);
    };
    const post = async (path: string, body: object, conn: Conn = c): Promise<WatchedObject> => JSON.parse((await call(conn, l, 'POST', path, { body: JSON.stringify(body), ok: [201] })).text) as WatchedObject;
    const createInstance = async (name: string, spec: Record<string, unknown>, conn: Conn = c): Promise<string> => {
      const obj = await post(INSTANCES, { apiVersion: 'lodge.dev/v1alpha1', kind: 'Instance', metadata: { name, namespace: NS, labels: { bench: 'snapshot' } }, spec }, conn);
      const uid = String(obj.metadata.uid);
      uids.add(uid);
      return uid;
    };
    const failed = (o2: WatchedObject | undefined): string | undefined => {
      const s = stat(o2);
      return s.phase === 'Failed' ? `${str(s.reason)}: ${str(s.message)}` : undefined;
    };
    /** Resolve when the instance satisfies pred; reject early on phase Failed. */
    const untilInstance = async (name: string, what: string, pred: (x: WatchedObject | undefined) => boolean, timeoutMs: number): Promise<number> => {
      let why: string | undefined;
      const r = await insts.waitFor(name, what, (x) => pred(x) || (why = failed(x)) !== undefined, timeoutMs);
      if (!pred(r.obj) && why) throw new Error(`${name}: ${what}: it failed: ${why}`);
      return r.t;
    };
    const running = (x: WatchedObject | undefined): boolean => stat(x).phase === 'Running';
    const halted = (x: WatchedObject | undefined): boolean => stat(x).phase === 'Stopped' && stat(x).reason === 'Halted';
    const consoleCount = (uid: string): number => {
      try {
        return readFileSync(join(instDir(uid), 'console.log'), 'latin1').split(GUEST_READY_MARKER).length - 1;
      } catch {
        return 0;
      }
    };
    /** Until the guest has printed its ready marker `n` times (boots), polled every 50 ms. */
    const guestReady = async (uid: string, n: number, timeoutMs: number): Promise<number> => {
      const by = nowMs() + timeoutMs;
      while (consoleCount(uid) < n) {
        if (nowMs() > by) throw new Error(`instance ${uid}: ${GUEST_READY_MARKER} not seen ${n}× within ${timeoutMs} ms`);
        await sleep(50);
      }
      return nowMs();
    };
    const lodgeCli = (args: string[], timeoutMs = 120_000): Promise<Ran> => runCmd(process.execPath, [CLI, '--kubeconfig', join(l.dataDir, 'kubeconfig'), '-n', NS, ...args], { timeoutMs });
    /** lodge exec, retried while the guest agent is not answering yet. */
    const exec = async (name: string, script: string): Promise<string> => {
      let r: Ran | undefined;
      for (let k = 0; k < 40; k++) {
        r = await lodgeCli(['exec', `instance/${name}`, '--', 'sh', '-c', script], 180_000);
        if (r.code === 0) return r.stdout;
        await sleep(1000);
      }
      throw new Error(`lodge exec ${name}: exit ${r?.code}: ${lastLine(r?.stderr ?? '')}`);
    };
    const setStrategy = async (name: string, runStrategy: string): Promise<void> => patch(`${INSTANCES}/${name}`, { spec: { runStrategy } });
    /** POST a Snapshot → status.phase Ready (ms), and its final object. */
    const snapshot = async (inst: string, short: string, stateful = false): Promise<{ ms: number; obj: WatchedObject; inProgressMs: number }> => {
      const name = `${inst}.${short}`;
      const done = snaps.waitFor(name, 'Ready', (x) => stat(x).phase === 'Ready' || stat(x).phase === 'Failed', 600_000);
      // When the agent starts on it (it writes InProgress first): what comes before is pickup, what comes after is the work.
      const started = snaps.waitFor(name, 'InProgress', (x) => stat(x).phase !== undefined && stat(x).phase !== 'Pending', 600_000);
      const t0 = nowMs();
      await post(SNAPSHOTS, { apiVersion: 'lodge.dev/v1alpha1', kind: 'Snapshot', metadata: { name, namespace: NS, labels: { 'lodge.dev/instance': inst } }, spec: { instanceName: inst, ...(stateful ? { stateful: true } : {}) } });
      const r = await done;
      if (stat(r.obj).phase !== 'Ready') throw new Error(`snapshot ${name} failed: ${str(stat(r.obj).message)}`);
      const st = await started;
      return { ms: r.t - t0, obj: r.obj!, inProgressMs: st.t - t0 };
    };
    /** Restore request → status.restore Succeeded (ms); then, unless Halted, → Running. */
    const restore = async (inst: string, snapObject: string, expectRunning: boolean): Promise<{ ms: number; runningMs?: number; message: string }> => {
      const at = new Date().toISOString();
      const restored = (x: WatchedObject | undefined): boolean => {
        const r = stat(x).restore as { requestedAt?: string; phase?: string } | undefined;
        return r?.requestedAt === at && (r.phase === 'Succeeded' || r.phase === 'Failed');
      };
      const done = insts.waitFor(inst, 'restore done', restored, 600_000);
      const back = expectRunning ? insts.waitFor(inst, 'Running after restore', (x) => restored(x) && running(x), 600_000) : undefined;
      const t0 = nowMs();
      await patch(`${INSTANCES}/${inst}`, { metadata: { annotations: { 'lodge.dev/restoreSnapshot': snapObject, 'lodge.dev/restoreRequestedAt': at } } });
      const r = await done;
      const rs = stat(r.obj).restore as { phase?: string; message?: string };
      if (rs.phase !== 'Succeeded') throw new Error(`restore of ${inst} to ${snapObject}: ${rs.phase}: ${rs.message ?? ''}`);
      const b = back ? await back : undefined;
      return { ms: r.t - t0, ...(b ? { runningMs: b.t - t0 } : {}), message: rs.message ?? '' };
    };
    /** POST a copy (runStrategy Halted) → phase Stopped, reason Halted (ms): the agent reports that only once the copy's disk is made. */
    const copy = async (name: string, src: string, spec: Record<string, unknown>, source: { snapshotName?: string; full?: boolean }, conn: Conn = c): Promise<{ ms: number; uid: string }> => {
      const done = untilInstance(name, 'Stopped (Halted)', halted, 600_000);
      const t0 = nowMs();
      const uid = await createInstance(name, { ...spec, runStrategy: 'Halted', source: { instanceName: src, ...source } }, conn);
      const t = await done;
      const rec = await readStorageRecord(instDir(uid));
      if (!rec.copied) throw new Error(`copy ${name}: Stopped but its storage record says it is not copied`);
      return { ms: t - t0, uid };
    };
    const remove = async (names: string[]): Promise<void> => {
      const gone = names.map((n) => insts.waitFor(n, 'deleted', (x) => x === undefined, 300_000));
      await Promise.all(names.map((n) => call(c, l, 'DELETE', `${INSTANCES}/${n}`, { ok: [200, 202, 404] })));
      await Promise.all(gone);
    };
    const qemuPid = (uid: string): number | undefined => {
      for (const f of ['pid', 'qemu.pid']) {
        try {
          const p = Number(readFileSync(join(vmRuntimeDir(uid), f), 'utf8').trim());
          if (p > 0 && alive(p)) return p;
        } catch {
          /* next */
        }
      }
      return undefined;
    };
    const snapLayer = async (srcUid: string, snapObj: WatchedObject): Promise<string> => {
      const rec = await readStorageRecord(instDir(srcUid));
      const layer = rec.snapshots[String(snapObj.metadata.uid)]?.layer;
      if (!layer) throw new Error(`snapshot ${snapObj.metadata.name}: no layer in the storage record`);
      return layer;
    };

    // ---- VMs: the sources ---------------------------------------------------------------
    const vmSpec = (diskSize: string, memory = '256Mi'): Record<string, unknown> => ({ type: 'vm', image: 'busybox-vm', cpu: 1, memory, diskSize, terminationGracePeriodSeconds: 10 });
    const bootVm = async (name: string, spec: Record<string, unknown>): Promise<string> => {
      const up = untilInstance(name, 'Running', running, 15 * 60_000);
      const uid = await createInstance(name, spec);
      await up;
      await guestReady(uid, 1, 10 * 60_000);
      return uid;
    };
    o.log('VM sources: vm-1g first (builds busybox-vm in this data dir; the kernel .deb is cached per machine), then vm-20g and vm-512');
    const t1g = nowMs();
    const uid1g = await bootVm('vm-1g', vmSpec('1Gi'));
    o.log(`vm-1g ready after ${((nowMs() - t1g) / 1000).toFixed(1)} s (image build included)`);
    accelerator = str(stat(insts.latest.get('vm-1g')?.obj).accelerator) || '?';
    const [uid20g, uid512] = await Promise.all([bootVm('vm-20g', vmSpec('20Gi')), bootVm('vm-512', vmSpec('1Gi', '512Mi'))]);
    o.log(`writing ${DATA_MIB} MiB in vm-1g and vm-20g (lodge exec ... dd, sync)`);
    const wrote = await Promise.all([exec('vm-1g', WRITE_DATA), exec('vm-20g', WRITE_DATA)]);
    details.push(`VM sources: busybox-vm (its ext4 root is 128 MiB whatever the disk's virtual size), 1 vCPU, 256 MiB, spec.diskSize 1Gi and 20Gi; each booted once and then \`lodge exec NAME -- sh -c '${WRITE_DATA}'\` (${lastLine(wrote[0]!).replace(/\s+/g, ' ')}); then stopped (runStrategy Halted).`);
    const haltBoth = ['vm-1g', 'vm-20g'].map((n) => untilInstance(n, 'Halted', halted, 120_000));
    await Promise.all([setStrategy('vm-1g', 'Halted'), setStrategy('vm-20g', 'Halted')]);
    await Promise.all(haltBoth);
    const vsize = (uid: string): number => {
      try {
        return (JSON.parse(execFileSync('qemu-img', ['info', '-U', '--output', 'json', join(instDir(uid), 'disk.qcow2')], { encoding: 'utf8' })) as { 'virtual-size': number })['virtual-size'];
      } catch {
        return NaN;
      }
    };
    facts.push({ figure: 'VM sources: disk virtual size / allocated in the instance dir after the write', value: `${(vsize(uid1g) / 2 ** 30).toFixed(0)} GiB / ${mib(duBytes([instDir(uid1g)]))}`, detail: `and ${(vsize(uid20g) / 2 ** 30).toFixed(0)} GiB / ${mib(duBytes([instDir(uid20g)]))}` });

    const base1g = await snapshot('vm-1g', 'base');
    const base20g = await snapshot('vm-20g', 'base');
    const layer1g = await snapLayer(uid1g, base1g.obj);
    const layer20g = await snapLayer(uid20g, base20g.obj);

    // ---- 1. clones, against qemu-img create -b ---------------------------------------------
    o.log(`clones: ${o.copies} linked copies of each disk from its snapshot and from its current state, alternating with qemu-img create -b`);
    const samples: Record<string, number[]> = {};
    const add = (k: string, ms: number): void => void (samples[k] ??= []).push(ms);
    let rawN = 0;
    const rawOverlay = async (layer: string): Promise<number> => {
      const f = join(tmp, `raw-overlay-${rawN++}.qcow2`);
      const r = check(await runCmd('qemu-img', ['create', '-q', '-f', 'qcow2', '-F', 'qcow2', '-b', layer, f]), 'qemu-img create');
      rmSync(f, { force: true });
      return r.ms;
    };
    const sources = [
      { src: 'vm-1g', size: '1Gi', snap: base1g, layer: layer1g },
      { src: 'vm-20g', size: '20Gi', snap: base20g, layer: layer20g },
    ];
    const made: string[] = [];
    for (let k = 0; k < o.copies; k++) {
      for (const s of k % 2 === 0 ? sources : [...sources].reverse()) {
        add(`raw:${s.size}`, await rawOverlay(s.layer));
        const a = await copy(`${s.src}-ls-${k}`, s.src, vmSpec(s.size), { snapshotName: String(s.snap.obj.metadata.name) });
        add(`snap:${s.size}`, a.ms);
        const b = await copy(`${s.src}-lc-${k}`, s.src, vmSpec(s.size), {});
        add(`cur:${s.size}`, b.ms);
        made.push(`${s.src}-ls-${k}`, `${s.src}-lc-${k}`);
      }
    }
    const fullRuns = Math.max(1, Math.min(3, o.runs));
    const img = await (await VmImages.open(join(l.dataDir, 'images'))).get('busybox-vm');
    if (!img) throw new Error('busybox-vm is not in the data dir after VMs booted from it');
    const fullBytes: Record<string, number[]> = {};
    for (let k = 0; k < fullRuns; k++) {
      for (const s of sources) {
        const a = await copy(`${s.src}-full-${k}`, s.src, vmSpec(s.size), { snapshotName: String(s.snap.obj.metadata.name), full: true });
        add(`full:${s.size}`, a.ms);
        (fullBytes[s.size] ??= []).push(duBytes([join(instDir(a.uid), 'disk.qcow2')]));
        made.push(`${s.src}-full-${k}`);
        // The floor of the same work: an overlay on the layer, rebased onto the image's disk (safe mode copies what differs).
        const f = join(tmp, `raw-full-${k}.qcow2`);
        const t0 = nowMs();
        check(await runCmd('qemu-img', ['create', '-q', '-f', 'qcow2', '-F', 'qcow2', '-b', s.layer, f]), 'qemu-img create');
        check(await runCmd('qemu-img', ['rebase', '-q', '-f', 'qcow2', '-F', img.disk.format, '-b', img.disk.path, f]), 'qemu-img rebase');
        add(`rawfull:${s.size}`, nowMs() - t0);
        rmSync(f, { force: true });
      }
    }
    const sec1 = '1. VM clones';
    for (const s of sources) {
      const d = s.size.replace('Gi', ' GiB');
      rows.push({ section: sec1, figure: `Lodge linked copy of a snapshot, ${d} disk: POST → Stopped`, samples: samples[`snap:${s.size}`]!, targetMs: TARGET_MS, vs: `qemu-img create -b, ${d}` });
      rows.push({ section: sec1, figure: `Lodge linked copy of the current state, ${d} disk: POST → Stopped`, samples: samples[`cur:${s.size}`]!, targetMs: TARGET_MS, vs: `qemu-img create -b, ${d}`, note: 'freezes the source top: two qemu-img creates' });
      rows.push({ section: sec1, figure: `qemu-img create -b, ${d}`, samples: samples[`raw:${s.size}`]!, note: 'overlay on the same snapshot layer; spawn → exit' });
    }
    for (const s of sources) {
      const d = s.size.replace('Gi', ' GiB');
      rows.push({ section: sec1, figure: `Lodge --full copy of a snapshot, ${d} disk: POST → Stopped`, samples: samples[`full:${s.size}`]!, vs: `qemu-img create -b + rebase, ${d}`, note: `its disk.qcow2: ${mib(median(fullBytes[s.size]!))}` });
      rows.push({ section: sec1, figure: `qemu-img create -b + rebase, ${d}`, samples: samples[`rawfull:${s.size}`]!, note: "the same two steps by hand (rebase onto the image's disk)" });
    }
    details.push(
      `clones: ${o.copies} linked copies of each source from its snapshot and ${o.copies} from its current state (lodge copy SRC[/SNAP] NEW --no-start: an Instance with spec.source and runStrategy Halted), one at a time, alternating with a hand-run \`qemu-img create -q -f qcow2 -F qcow2 -b LAYER OVERLAY\` on the same snapshot layer; ` +
        `time from the POST until the watch shows status.phase Stopped with reason Halted — the agent's sync makes the copy's disk (ensureCopy) before it converges and reports Halted; the storage record's \`copied\` was checked after each. ` +
        `A copy of the current state of a stopped VM first freezes the source's top (a new top on it: one more qemu-img create) and leaves that layer in the source's chain until no copy reads it. ${fullRuns} --full copies of each from the snapshot.`,
    );
    await remove(made);
    // The sources merge away the copy layers no copy reads any more at their next sync: make it happen now (a harmless annotation), so it is not inside the figures below.
    const tMerge = nowMs();
    await Promise.all(['vm-1g', 'vm-20g'].map((n) => patch(`${INSTANCES}/${n}`, { metadata: { annotations: { 'bench.lodge.dev/touch': String(Date.now()) } } })));
    for (const uid of [uid1g, uid20g]) {
      const by = nowMs() + 120_000;
      while (((await readStorageRecord(instDir(uid))).copyLayers ?? []).length > 0) {
        if (nowMs() > by) throw new Error(`copy layers of ${uid} not merged away after 120 s`);
        await sleep(20);
      }
    }
    details.push(`after the copies of the current state were deleted, each source merged away its ${o.copies} copy layers (qemu-img rebase) at its next sync, prompted by an annotation: ${msf(nowMs() - tMerge)} ms for both, outside the figures.`);

    // ---- 2. snapshot and restore of a stopped VM, and of a running one ---------------------
    const sec2 = '2. VM snapshot / restore';
    o.log(`VM snapshot/restore: ${o.runs + 2} rounds stopped, ${o.runs} running`);
    const stoppedRounds = o.runs + 2;
    const snapStopped: number[] = [];
    const pickupStopped: number[] = [];
    const restStopped: number[] = [];
    for (let k = 0; k < stoppedRounds; k++) {
      const s = await snapshot('vm-1g', `st-${k}`);
      snapStopped.push(s.ms);
      pickupStopped.push(s.inProgressMs);
      const r = await restore('vm-1g', String(s.obj.metadata.name), false);
      restStopped.push(r.ms);
    }
    rows.push({ section: sec2, figure: 'stopped VM (1 GiB disk): POST Snapshot → Ready', samples: snapStopped, targetMs: TARGET_MS, note: `a new top on the frozen one (qemu-img create); InProgress after median ${msf(median(pickupStopped))} ms` });
    rows.push({ section: sec2, figure: 'stopped VM: restore request → status.restore Succeeded', samples: restStopped, targetMs: TARGET_MS, note: 'a new top on the snapshot layer; the old top removed' });
    // Running: vm-1g started again.
    const startAgain = untilInstance('vm-1g', 'Running', running, 300_000);
    const boots1g = consoleCount(uid1g);
    await setStrategy('vm-1g', 'Always');
    await startAgain;
    await guestReady(uid1g, boots1g + 1, 300_000);
    const snapRunning: number[] = [];
    const pickupRunning: number[] = [];
    const restRunning: number[] = [];
    const restRunningUp: number[] = [];
    const restRunningGuest: number[] = [];
    let consistency = '';
    let pidKept = true;
    for (let k = 0; k < o.runs; k++) {
      const before = qemuPid(uid1g);
      const s = await snapshot('vm-1g', `run-${k}`);
      snapRunning.push(s.ms);
      pickupRunning.push(s.inProgressMs);
      consistency = str(stat(s.obj).message);
      if (!before || qemuPid(uid1g) !== before || !running(insts.latest.get('vm-1g')?.obj)) pidKept = false;
      const n = consoleCount(uid1g);
      const t0 = nowMs();
      const r = await restore('vm-1g', String(s.obj.metadata.name), true);
      restRunning.push(r.ms);
      restRunningUp.push(r.runningMs ?? NaN);
      restRunningGuest.push((await guestReady(uid1g, n + 1, 300_000)) - t0);
    }
    rows.push({ section: sec2, figure: 'running VM: POST Snapshot → Ready (the guest keeps running)', samples: snapRunning, targetMs: TARGET_MS, note: `QMP blockdev-snapshot-sync; ${consistency}; InProgress after median ${msf(median(pickupRunning))} ms; same QEMU pid and Running throughout: ${pidKept ? 'yes' : 'NO'}` });
    rows.push({ section: sec2, figure: 'running VM: restore request → status.restore Succeeded', samples: restRunning, note: 'QEMU stopped (no grace), disk put back' });
    rows.push({ section: sec2, figure: 'running VM: restore request → Running again', samples: restRunningUp });
    rows.push({ section: sec2, figure: `running VM: restore request → ${GUEST_READY_MARKER} (guest booted again)`, samples: restRunningGuest, note: 'a disk-only snapshot: the guest boots from the restored disk' });

    // ---- 3. stateful snapshot of a running 512 MiB VM, against raw QEMU ---------------------
    const sec3 = '3. stateful VM snapshot (512 MiB)';
    o.log(`stateful snapshots of vm-512: ${o.runs} rounds, alternating with a raw QEMU saving to and loading from a file`);
    const cmdlineText = kernelCmdline({ cmdline: img.cmdline } as VmSpec, profileCmdline(DEFAULT_BOOT_PROFILE));
    const rawOpts = (disk: string, qmp: string): RawBootOptions => ({ kernel: img.kernel, initrd: img.initrd, cmdline: cmdlineText, disk, profile: DEFAULT_BOOT_PROFILE, cpus: 1, memoryMiB: 512, accel: accelerator === 'kvm' ? 'kvm' : 'tcg', qmpSocket: qmp });
    const rawDisk = join(tmp, 'raw-512.qcow2');
    check(await runCmd('qemu-img', ['create', '-q', '-f', 'qcow2', '-F', img.disk.format, '-b', img.disk.path, rawDisk]), 'qemu-img create');
    const qmpA = join(tmp, 'qa.sock');
    const rawVm = RawVm.start(rawOpts(rawDisk, qmpA));
    rawChildren.add(rawVm.child);
    await rawVm.waitFor(GUEST_READY_MARKER, 300_000);
    const stateSave: number[] = [];
    const stateRestore: number[] = [];
    const stateRestoreUp: number[] = [];
    const rawSave: number[] = [];
    const rawLoad: number[] = [];
    let stateBytes = NaN;
    let restoreMessage = '';
    let rebooted = 0;
    const stateSavePickup: number[] = [];
    let rawBytes = NaN;
    const rawSaveOnce = async (file: string): Promise<number> => {
      const q = await QmpClient.connect(qmpA);
      try {
        await q.execute('migrate-set-parameters', { 'max-bandwidth': 2 ** 40, 'downtime-limit': 2_000_000 });
        const t0 = nowMs();
        await q.execute('stop');
        await q.execute('migrate', { uri: saveUri(file) });
        for (;;) {
          const info = await q.execute<{ status?: string; 'error-desc'?: string }>('query-migrate');
          if (info.status === 'completed') break;
          if (info.status === 'failed' || info.status === 'cancelled') throw new Error(`raw migrate: ${info.status} ${info['error-desc'] ?? ''}`);
          await sleep(5);
        }
        const ms = nowMs() - t0;
        // The disk of that moment for the loader (a second QEMU cannot share the running one's image); untimed, as is the cont.
        check(await runCmd('cp', ['--reflink=auto', rawDisk, `${file}.disk`]), 'cp disk');
        await q.execute('cont');
        return ms;
      } finally {
        q.close();
      }
    };
    /** A new raw QEMU fed the state file with -incoming: spawn → QMP says running. */
    const rawLoadOnce = async (file: string, k: number): Promise<number> => {
      const sock = join(tmp, `qb${k}.sock`);
      const t0 = nowMs();
      const child = spawn('qemu-system-x86_64', [...rawQemuArgs(rawOpts(`${file}.disk`, sock)), '-incoming', loadUri(file)], { stdio: 'ignore' });
      rawChildren.add(child);
      try {
        const q = await QmpClient.connect(sock, { timeoutMs: 30_000 });
        try {
          for (;;) {
            const s = await q.execute<{ status: string }>('query-status');
            if (s.status === 'running') break;
            // The source was stopped for the save, so QEMU keeps the loaded guest paused (as Lodge's driver finds it): cont, as Lodge does.
            if (s.status === 'paused') {
              await q.execute('cont');
              continue;
            }
            if (s.status !== 'inmigrate' && s.status !== 'prelaunch' && s.status !== 'paused' && s.status !== 'restore-vm' && s.status !== 'finish-migrate') throw new Error(`raw QEMU -incoming: status ${s.status}`);
            await sleep(5);
          }
          return nowMs() - t0;
        } finally {
          q.close();
        }
      } finally {
        if (child.pid !== undefined && child.exitCode === null) process.kill(child.pid, 'SIGKILL');
        await new Promise((r) => (child.exitCode !== null || child.signalCode !== null ? r(undefined) : child.once('exit', r)));
        rawChildren.delete(child);
      }
    };
    for (let k = 0; k < o.runs; k++) {
      const lodgeRun = async (): Promise<void> => {
        const s = await snapshot('vm-512', `mem-${k}`, true);
        stateSave.push(s.ms);
        stateBytes = Number(stat(s.obj).size ?? NaN);
        const boots = consoleCount(uid512);
        const r = await restore('vm-512', String(s.obj.metadata.name), true);
        stateRestore.push(r.ms);
        stateRestoreUp.push(r.runningMs ?? NaN);
        restoreMessage = r.message;
        stateSavePickup.push(s.inProgressMs);
        // Resumed from memory, not booted: no new ready marker on the console in the next 3 s (a boot prints it after ~2.3 s here).
        await sleep(3000);
        if (consoleCount(uid512) !== boots) rebooted++;
      };
      const rawRun = async (): Promise<void> => {
        const f = join(tmp, `raw-state-${k}`);
        rawSave.push(await rawSaveOnce(f));
        rawBytes = statSync(f).size;
        rawLoad.push(await rawLoadOnce(f, k));
        rmSync(f, { force: true });
        rmSync(`${f}.disk`, { force: true });
      };
      if (k % 2 === 0) {
        await lodgeRun();
        await rawRun();
      } else {
        await rawRun();
        await lodgeRun();
      }
    }
    rawVm.kill();
    await rawVm.exited;
    rawChildren.delete(rawVm.child);
    rows.push({ section: sec3, figure: 'Lodge: POST stateful Snapshot → Ready', samples: stateSave, vs: 'raw QEMU: stop + migrate to exec:cat > FILE', note: `snapshot size ${mib(stateBytes)} (layer + memory state); InProgress after median ${msf(median(stateSavePickup))} ms` });
    rows.push({ section: sec3, figure: 'raw QEMU: stop + migrate to exec:cat > FILE', samples: rawSave, note: `state file ${mib(rawBytes)}` });
    rows.push({ section: sec3, figure: 'Lodge: restore request → status.restore Succeeded', samples: stateRestore });
    rows.push({ section: sec3, figure: 'Lodge: restore request → Running (memory state loaded)', samples: stateRestoreUp, vs: 'raw QEMU: spawn with -incoming exec:cat FILE → running', note: `"${restoreMessage}"; guest booted again instead of resuming: ${rebooted}/${o.runs}` });
    rows.push({ section: sec3, figure: 'raw QEMU: spawn with -incoming exec:cat FILE → running', samples: rawLoad });
    details.push(
      `stateful: vm-512 (busybox-vm, 512 MiB, running), \`lodge snapshot create vm-512 S --stateful\` as a Snapshot with spec.stateful; restore back to it while running (the agent stops QEMU, puts the disk back and starts a new QEMU with -incoming from the memory state; a resume is checked by no new ${GUEST_READY_MARKER} on its console in the 3 s after Running). ` +
        `Raw: a hand-written QEMU (\`qemu-system-x86_64 ${rawQemuArgs(rawOpts('OVERLAY', 'QMP.sock')).join(' ').replaceAll(img.kernel, 'vmlinux').replaceAll(img.initrd ?? '\0', 'initrd.cpio')}\`) booted to its shell; save = QMP migrate-set-parameters (no bandwidth cap, as Lodge's), stop, migrate to \`exec:cat > FILE\`, poll query-migrate every 5 ms until completed (timed to there; then, untimed, a copy of its overlay for the loader and cont); load = a new QEMU with \`-incoming "exec:cat FILE"\`, polled on QMP every 5 ms, cont once the load left it paused, until query-status says running (no disk switch, no API, no status writes). Runs alternate.`,
    );

    // ---- 4. templates: 50 containers from a published image, 50 linked VM copies --------------
    const sec4 = '4. templates';
    o.log('template: publishing a stopped busybox container');
    const ctSpec = { type: 'container', image: 'busybox', terminationGracePeriodSeconds: 2 };
    const tplUp = untilInstance('ct-tpl', 'Running', running, 300_000);
    await createInstance('ct-tpl', ctSpec);
    await tplUp;
    await exec('ct-tpl', 'mkdir -p /srv && dd if=/dev/urandom of=/srv/app.bin bs=1M count=8 2>/dev/null && sync');
    const tplHalt = untilInstance('ct-tpl', 'Halted', halted, 120_000);
    await setStrategy('ct-tpl', 'Halted');
    await tplHalt;
    const imageName = `bench-tpl-${process.pid}`;
    images.add(imageName);
    const published = imgs.waitFor(imageName, 'Ready', (x) => stat(x).phase === 'Ready' || stat(x).phase === 'Failed', 300_000);
    const tPub = nowMs();
    await post(IMAGES, { apiVersion: 'lodge.dev/v1alpha1', kind: 'Image', metadata: { name: imageName }, spec: { type: 'container', source: { publish: { instanceName: 'ct-tpl', namespace: NS } } } });
    const pub = await published;
    if (stat(pub.obj).phase !== 'Ready') throw new Error(`publish failed: ${JSON.stringify(stat(pub.obj))}`);
    const publishMs = pub.t - tPub;
    const tplBytes = Number(stat(pub.obj).size ?? NaN);
    const conns = Array.from({ length: 10 }, () => connect(l, 'h1'));
    try {
      const names = Array.from({ length: o.template }, (_, k) => `srv-${k}`);
      const up = names.map((n) => untilInstance(n, 'Running', running, 600_000));
      const t0 = nowMs();
      const srvUids = await Promise.all(names.map((n, k) => createInstance(n, { type: 'container', image: imageName, terminationGracePeriodSeconds: 2 }, conns[k % conns.length]!)));
      const tPosts = nowMs() - t0;
      const ts = await Promise.all(up);
      const total = Math.max(...ts) - t0;
      await sleep(500);
      const used = duBytes(srvUids.map(instDir));
      const frac = used / (o.template * tplBytes);
      facts.push({ figure: `${o.template} system containers from one published image, POSTed at once: all Running`, value: `${msf(total)} ms`, detail: `POSTs done after ${msf(tPosts)} ms; each: median ${msf(median(ts.map((t) => t - t0)))} ms; publishing the template took ${msf(publishMs)} ms` });
      facts.push({
        figure: `${o.template} system containers: disk beyond the template vs ${o.template} full copies`,
        value: `${(frac * 100).toFixed(2)}%`,
        detail: `du of their instance dirs ${mib(used)} (${((used / o.template) / 1024).toFixed(0)} KiB each) vs ${o.template} × ${mib(tplBytes)} (the Image's status.size) = ${mib(o.template * tplBytes)}`,
        verdict: `target < 5%: ${frac < TEMPLATE_TARGET ? 'PASS' : 'MISS'}`,
      });
      o.log(`template: ${o.template} containers Running after ${msf(total)} ms; ${(frac * 100).toFixed(2)}% of ${o.template} full copies`);
      await remove(names);

      // 50 linked VM copies (disks only) of vm-1g's snapshot.
      const vmNames = Array.from({ length: o.template }, (_, k) => `vmt-${k}`);
      const stopped = vmNames.map((n) => untilInstance(n, 'Stopped (Halted)', halted, 600_000));
      const v0 = nowMs();
      const vmUids = await Promise.all(vmNames.map((n, k) => createInstance(n, { ...vmSpec('1Gi'), runStrategy: 'Halted', source: { instanceName: 'vm-1g', snapshotName: String(base1g.obj.metadata.name) } }, conns[k % conns.length]!)));
      const vts = await Promise.all(stopped);
      const vtotal = Math.max(...vts) - v0;
      const vused = duBytes(vmUids.map(instDir));
      // One full copy of that template: the whole chain (image disk + layers) in one qcow2.
      const flat = join(tmp, 'template-full.qcow2');
      check(await runCmd('qemu-img', ['convert', '-U', '-q', '-O', 'qcow2', layer1g, flat]), 'qemu-img convert');
      const fullOne = duBytes([flat]);
      rmSync(flat, { force: true });
      const vfrac = vused / (o.template * fullOne);
      facts.push({ figure: `${o.template} linked VM copies (Halted) of one snapshot, POSTed at once: all Stopped`, value: `${msf(vtotal)} ms`, detail: `each: median ${msf(median(vts.map((t) => t - v0)))} ms` });
      facts.push({
        figure: `${o.template} linked VM copies: disk beyond the template vs ${o.template} full copies`,
        value: `${(vfrac * 100).toFixed(2)}%`,
        detail: `du of their instance dirs ${mib(vused)} (${((vused / o.template) / 1024).toFixed(0)} KiB each) vs ${o.template} × ${mib(fullOne)} (qemu-img convert of the template's whole chain)`,
        verdict: `target < 5%: ${vfrac < TEMPLATE_TARGET ? 'PASS' : 'MISS'}`,
      });
      o.log(`template: ${o.template} VM copies Stopped after ${msf(vtotal)} ms; ${(vfrac * 100).toFixed(2)}%`);
      await remove(vmNames);
    } finally {
      await closeAll(conns);
    }
    details.push(
      `templates: ct-tpl (busybox, 8 MiB written in /srv) stopped and published (\`lodge publish ct-tpl IMAGE\`: an Image with spec.source.publish, Ready after ${msf(publishMs)} ms); ${o.template} system containers with spec.image IMAGE POSTed at once over 10 connections, time from the first POST until the watch showed the last Running; disk: \`du -scB1\` of their <data>/instances/<uid> dirs while running (writable layer, console log, records). ` +
        `VMs: ${o.template} running TCG guests (${o.template} × 256 MiB, each vCPU emulated) do not fit 2 cores comfortably, so the ${o.template} linked copies of vm-1g's snapshot are created Halted (disks only) and timed to Stopped.`,
    );

    // ---- 5. system containers against LXD ---------------------------------------------------
    const sec5 = '5. containers vs LXD';
    const ctUp = untilInstance('ct-src', 'Running', running, 300_000);
    const ctUid = await createInstance('ct-src', ctSpec);
    await ctUp;
    await exec('ct-src', WRITE_DATA);
    const lodgeCt: Record<string, number[]> = {};
    const lx: Record<string, number[]> = {};
    const push = (m: Record<string, number[]>, k: string, v: number): void => void (m[k] ??= []).push(v);
    let lxdSkipped: string | undefined = o.lxd ? undefined : 'not asked for (--peers)';
    let lxdName = '';
    if (o.lxd) {
      try {
        o.log('setting up LXD');
        const store = await ImageStore.open({ root: join(tmp, 'images') });
        await store.ensureBuiltin('busybox');
        const prepared = await store.prepare('busybox');
        const rootfs = join(tmp, 'busybox-rootfs');
        const cp = spawnSync('cp', ['-a', prepared.rootfs.lowerDirs[0]!, rootfs]);
        if (cp.status !== 0) throw new Error(`cp busybox layer: ${cp.stderr}`);
        lxd = await lxdPeer(tmp, rootfs, o);
        const s = await lxd.start(0);
        lxdName = s.handle;
        check(await runCmd('lxc', ['exec', lxdName, '--', '/bin/sh', '-c', WRITE_DATA], { timeoutMs: 120_000 }), 'lxc exec dd');
      } catch (e) {
        lxdSkipped = (e as Error).message;
        o.log(`lxd: skipped: ${lxdSkipped}`);
      }
    }
    o.log(`containers: ${o.runs} rounds of snapshot, restore, copies — Lodge and LXD alternating`);
    for (let k = 0; k < o.runs; k++) {
      const lodgeRun = async (): Promise<void> => {
        const s = await snapshot('ct-src', `s-${k}`);
        push(lodgeCt, 'snap', s.ms);
        const r = await restore('ct-src', String(s.obj.metadata.name), true);
        push(lodgeCt, 'restore', r.ms);
        push(lodgeCt, 'restoreUp', r.runningMs ?? NaN);
        const a = await copy(`ct-ls-${k}`, 'ct-src', ctSpec, { snapshotName: String(s.obj.metadata.name) });
        push(lodgeCt, 'copySnap', a.ms);
        const f = await copy(`ct-fs-${k}`, 'ct-src', ctSpec, { snapshotName: String(s.obj.metadata.name), full: true });
        push(lodgeCt, 'copySnapFull', f.ms);
        const b = await copy(`ct-lc-${k}`, 'ct-src', ctSpec, {});
        push(lodgeCt, 'copyCur', b.ms);
        await remove([`ct-ls-${k}`, `ct-fs-${k}`, `ct-lc-${k}`]);
      };
      const lxdRun = async (): Promise<void> => {
        if (!lxd || lxdSkipped) return;
        try {
          const lxc = async (args: string[]): Promise<number> => check(await runCmd('lxc', args, { timeoutMs: 300_000 }), `lxc ${args.join(' ')}`).ms;
          push(lx, 'snap', await lxc(['snapshot', lxdName, `s${k}`]));
          push(lx, 'restore', await lxc(['restore', lxdName, `s${k}`]));
          const c2 = lxd.nameFor(100 + k);
          const c3 = lxd.nameFor(200 + k);
          push(lx, 'copySnap', await lxc(['copy', `${lxdName}/s${k}`, c2]));
          push(lx, 'copyCur', await lxc(['copy', lxdName, c3]));
          await lxd.remove(c2);
          await lxd.remove(c3);
        } catch (e) {
          lxdSkipped = `failed in round ${k}: ${(e as Error).message}`;
          o.log(`lxd: ${lxdSkipped}`);
        }
      };
      if (k % 2 === 0) {
        await lodgeRun();
        await lxdRun();
      } else {
        await lxdRun();
        await lodgeRun();
      }
    }
    const lxdFig = (what: string): string => `LXD: ${what}`;
    const lxdRow = (key: string, what: string, note?: string): void =>
      void rows.push({ section: sec5, figure: lxdFig(what), samples: lxdSkipped ? [] : (lx[key] ?? []), skipped: lxdSkipped, note });
    rows.push({ section: sec5, figure: 'Lodge: POST Snapshot of the running container → Ready', samples: lodgeCt.snap!, vs: lxdFig('lxc snapshot c s'), note: 'the writable layer copied (cp -a) with the container frozen' });
    lxdRow('snap', 'lxc snapshot c s', 'running container; dir pool: rsync of the whole rootfs');
    rows.push({ section: sec5, figure: 'Lodge: restore request → status.restore Succeeded', samples: lodgeCt.restore!, vs: lxdFig('lxc restore c s') });
    rows.push({ section: sec5, figure: 'Lodge: restore request → Running again', samples: lodgeCt.restoreUp!, vs: lxdFig('lxc restore c s') });
    lxdRow('restore', 'lxc restore c s', 'stops, restores and starts the running container');
    rows.push({ section: sec5, figure: 'Lodge: linked copy of a snapshot (Halted): POST → Stopped', samples: lodgeCt.copySnap!, vs: lxdFig('lxc copy c/s c2'), note: "the snapshot's layer mounted read-only under the copy's own" });
    rows.push({ section: sec5, figure: 'Lodge: --full copy of a snapshot (Halted): POST → Stopped', samples: lodgeCt.copySnapFull!, vs: lxdFig('lxc copy c/s c2'), note: 'a copy of the layer' });
    lxdRow('copySnap', 'lxc copy c/s c2', 'a full copy (dir pool)');
    rows.push({ section: sec5, figure: 'Lodge: copy of the running container (Halted): POST → Stopped', samples: lodgeCt.copyCur!, vs: lxdFig('lxc copy c c3'), note: 'its writable layer copied with the container frozen' });
    lxdRow('copyCur', 'lxc copy c c3', 'running source; a full copy (dir pool)');
    const ctRec = await readStorageRecord(instDir(ctUid)).catch(() => undefined);
    details.push(
      `containers: Lodge's ct-src (busybox system container, running) and LXD's ${lxdName || 'container'} (the same busybox rootfs as an LXD image, /sbin/init execs sleep; default profile on the dir pool, no network), each with \`${WRITE_DATA}\` run inside (lodge exec / lxc exec). ` +
        `${o.runs} rounds, Lodge and LXD alternating which goes first; per round: snapshot, restore to it (both running), a copy of that snapshot, a copy of the container itself; the copies are removed before the next round. LXD's are \`lxc\` command times (spawn → exit); Lodge's are API times (POST or PATCH → the watch shows the state). ` +
        `Lodge's snapshots hold only the writable layer (${ctRec ? mib(Object.values(ctRec.snapshots)[0]?.sizeBytes ?? NaN) : '?'} each here); LXD's dir pool copies the whole rootfs.`,
    );
    if (lxdSkipped) details.push(`lxd: not measured: ${lxdSkipped}`);
    details.unshift(`load average (1/5/15 min) at the end: ${loadavg().map((x) => x.toFixed(2)).join(' / ')} — other work on this machine shares its ${machineInfo().nproc} cores`);
  } catch (e) {
    if (lodge) o.log(`server log tail:\n${lodge.logTail()}`);
    throw e;
  } finally {
    await cleanup();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
  return { rows, facts, details, accelerator, qemuVersion, lodgeCommand: lodge?.command ?? '', leftovers };
}

// ---- reporting ------------------------------------------------------------------------------

function table(h: string[], body: string[][], numeric: number[], markdown: boolean): string {
  if (markdown) return [`| ${h.join(' | ')} |`, `|${h.map((_, i) => (numeric.includes(i) ? '---:' : '---')).join('|')}|`, ...body.map((b) => `| ${b.join(' | ')} |`)].join('\n');
  const widths = h.map((x, i) => Math.max(x.length, ...body.map((b) => b[i]!.length)));
  const line = (cells: string[]): string => cells.map((c, i) => (numeric.includes(i) ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join('  ').trimEnd();
  return [line(h), line(widths.map((x) => '-'.repeat(x))), ...body.map(line)].join('\n');
}

const finite = (xs: number[]): number[] => xs.filter((x) => Number.isFinite(x));

function verdict(r: Row): string {
  if (r.targetMs === undefined || !finite(r.samples).length) return '';
  return median(finite(r.samples)) < r.targetMs ? `PASS (< ${r.targetMs} ms)` : `MISS (< ${r.targetMs} ms)`;
}

export function formatReport(res: SnapshotBenchResult, markdown: boolean): string {
  const byFigure = new Map(res.rows.map((r) => [r.figure, r]));
  const parts: string[] = [];
  for (const section of [...new Set(res.rows.map((r) => r.section))]) {
    const body = res.rows
      .filter((r) => r.section === section)
      .map((r) => {
        const xs = finite(r.samples);
        if (!xs.length) return [r.figure, '–', '–', '–', '–', '', '', `not measured: ${r.skipped ?? 'no samples'}`];
        const s = summarize(xs);
        const peer = r.vs ? byFigure.get(r.vs) : undefined;
        const peerXs = peer ? finite(peer.samples) : [];
        const ratio = peerXs.length ? `${(s.p50 / median(peerXs)).toFixed(2)}×` : '';
        return [r.figure, String(s.n), msf(s.p50), msf(s.p90), msf(s.max), ratio, verdict(r), r.note ?? ''];
      });
    parts.push(table([`${section} (ms)`, 'n', 'median', 'p90', 'max', 'ratio', 'target', 'note'], body, [1, 2, 3, 4, 5], markdown), '');
  }
  if (res.facts.length) parts.push(table(['figure', 'value', 'target', 'detail'], res.facts.map((f) => [f.figure, f.value, f.verdict ?? '', f.detail]), [1], markdown), '');
  parts.push('"ratio" = this row\'s median / the median of the row it is compared with (the peer or primitive named in its note or the row below it).', '');
  parts.push(res.leftovers.length ? `cleanup check: LEFT BEHIND: ${res.leftovers.join('; ')}` : 'cleanup check: nothing left (no Instance, Snapshot or Image in the API, lodge up stopped, no QEMU, conmon or mount of this run, no LXD container of it; temp dir removed)');
  return parts.join('\n');
}

function ratioLines(res: SnapshotBenchResult): string[] {
  const out: string[] = [];
  const byFigure = new Map(res.rows.map((r) => [r.figure, r]));
  for (const r of res.rows) {
    if (!r.vs) continue;
    const peer = byFigure.get(r.vs);
    const a = finite(r.samples);
    const b = peer ? finite(peer.samples) : [];
    if (!a.length || !b.length) continue;
    const ra = median(a) / median(b);
    out.push(`${r.figure} / ${r.vs} = ${ra.toFixed(2)}× (${msf(median(a))} ms vs ${msf(median(b))} ms)${ra < 1 ? `; the peer takes ${(1 / ra).toFixed(1)}× longer` : ''}`);
  }
  return out;
}

export function resultsSection(res: SnapshotBenchResult, command: string, o: SnapshotBenchOptions): string {
  const date = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
  return [
    `Date: ${date}`,
    '',
    `Command: \`${command}\``,
    '',
    `Machine: ${describeMachine(machineInfo())}; QEMU ${res.qemuVersion}, accelerator **${res.accelerator.toUpperCase()}**.`,
    '',
    `Server: \`${res.lodgeCommand}\` with its node agent (a child process in a temporary data dir), driven over HTTPS on loopback with the admin bearer token; every Lodge time is from the request (POST or PATCH) to the event on a watch that shows the result. ${o.copies} copies per clone figure, ${o.runs} runs per snapshot figure unless n says otherwise.`,
    '',
    formatReport(res, true),
    '',
    ...ratioLines(res).map((x) => `- ${x}`),
    ...res.details.map((d) => `- ${d}`),
  ].join('\n');
}

// ---- command line ------------------------------------------------------------------------------

export function parseSnapshotArgs(argv: string[], log: (l: string) => void): { opts: SnapshotBenchOptions; write: boolean } {
  const { values } = parseArgs({
    args: argv,
    options: {
      copies: { type: 'string' },
      runs: { type: 'string' },
      template: { type: 'string' },
      peers: { type: 'string' },
      'no-install': { type: 'boolean' },
      'no-write': { type: 'boolean' },
    },
    strict: false,
  });
  const num = intArg;
  const peers = peerSet(values.peers, ['lxd'] as const);
  return {
    write: !values['no-write'],
    opts: {
      copies: num(values.copies, DEFAULTS.copies, 'copies'),
      runs: num(values.runs, DEFAULTS.runs, 'runs'),
      template: num(values.template, DEFAULTS.template, 'template'),
      lxd: peers.has('lxd'),
      install: !values['no-install'],
      log,
    },
  };
}

/** Run, print the report, refresh RESULTS.md (unless told not to). */
export async function snapshotMain(argv: string[], command: string): Promise<void> {
  const log = (l: string): void => void process.stderr.write(`bench: ${l}\n`);
  const { opts, write } = parseSnapshotArgs(argv, log);
  const t0 = nowMs();
  const res = await runSnapshotBench(opts);
  log(`snapshot bench took ${((nowMs() - t0) / 1000).toFixed(0)} s`);
  process.stdout.write(
    `\nLodge snapshots, clones, templates — ${describeMachine(machineInfo())}\nQEMU ${res.qemuVersion}, accelerator ${res.accelerator.toUpperCase()}\n\n${formatReport(res, false)}\n\n${[...ratioLines(res), ...res.details].map((d) => `- ${d}`).join('\n')}\n`,
  );
  if (write) {
    writeSection(RESULTS_MD, SECTION, resultsSection(res, command, opts));
    process.stdout.write(`\nwrote ${relative(process.cwd(), RESULTS_MD) || RESULTS_MD}\n`);
  }
  if (res.leftovers.length) throw new Error(`left behind on the host: ${res.leftovers.join('; ')}`);
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  snapshotMain(process.argv.slice(2), commandLine()).catch((e: Error) => {
    process.stderr.write(`bench: ${e.stack ?? e.message}\n`);
    process.exit(1);
  });
}
