// Instance start, end to end: Instances POSTed to a real `lodge up` (child
// process, temporary data dir, its in-process node agent) until the guest
// says it is up on its console log, side by side in one run with the peers
// doing the same thing their own way:
//   1. VM: POST → `LODGE-GUEST-READY` in the console log, against a
//      hand-written qemu-system-x86_64 command line (src/agent/images/vm/
//      raw-boot.ts) booting the same kernel, initrd and disk (a fresh qcow2
//      overlay each run) with the same boot profile and kernel command line;
//   2. memory: QEMU RSS/PSS per idle 256 MiB guest and lodge up's own growth
//      per VM, with a few idle VMs;
//   3. many VMs from one image started at once: time to all ready, and the
//      disk their state takes next to the image;
//   4. system container: POST → `lodge: booted NAME` in the console log,
//      against LXD's `lxc launch` of the same busybox rootfs booting the same
//      busybox init (bench/lib/peers.ts).
// Runs alternate between Lodge and its peer, so drift hits both alike.
//
//   node dist/bench/instance-start.js [--runs 10] [--vms 20] [--idle 5]
//                                     [--peers lxd|none] [--no-install] [--no-write]
//
// Root only. Everything started is deleted through the API (Instances),
// stopped by PID (lodge up, raw QEMU) or by name (LXD), and the run ends with
// a check that nothing of it is left. Nothing here asserts a timing.
import { pidAlive as alive } from '../src/agent/drivers/container/proc.js';
import { intArg, peerSet } from './lib/args.js';
import { execFileSync, spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, readdirSync, readFileSync, readSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { kernelCmdline } from '../src/agent/drivers/vm/qemu-args.js';
import { ImageStore } from '../src/agent/images/index.js';
import { DEFAULT_BOOT_PROFILE, profileCmdline } from '../src/agent/images/vm/boot-profile.js';
import { GUEST_READY_MARKER } from '../src/agent/images/vm/busybox-vm.js';
import { RawVm, rawQemuArgs } from '../src/agent/images/vm/raw-boot.js';
import { VmImages, type VmImage } from '../src/agent/images/vm/vm-images.js';
import { BOOT_MARKER, inittab } from '../src/agent/instances/init-system.js';
import { instanceCgroup, instanceId, instanceNetnsName } from '../src/agent/instances/ids.js';
import type { VmSpec } from '../src/agent/runtime/driver.js';
import { commandLine, RESULTS_MD } from './api.js';
import { call, closeAll, connect, type Conn } from './lib/http.js';
import { cmdline, lastLine, memKiB, mountsUnder, pids, vmRssKiB, which } from './lib/host.js';
import { startLodge, type RunningLodge } from './lib/lodge.js';
import { describeMachine, machineInfo } from './lib/machine.js';
import { lxdPeer, type LxdPeer } from './lib/peers.js';
import { writeSection } from './lib/results-md.js';
import { median, nowMs, sleep, summarize } from './lib/stats.js';
import { ResourceWatch } from './lib/watch.js';

export const SECTION = 'Step 3 — Instance start';
const NODE = 'bench';
const NS = 'instance-start';
const INSTANCES = `/apis/lodge.dev/v1alpha1/namespaces/${NS}/instances`;
/** The container driver's runc state dir (its default). */
const LODGE_RUNC_ROOT = '/run/lodge/runc';
const VM_MEMORY_MIB = 256;
/** How often the console logs are read for the ready marker. */
const POLL_MS = 3;
const FIRECRACKER = 'Firecracker publishes ≤125 ms from API call to guest init (KVM, its minimal guest kernel config)';

export type Peer = 'lxd';
const ALL_PEERS: Peer[] = ['lxd'];

export interface InstanceStartOptions {
  runs: number;
  /** VMs started at once. */
  vms: number;
  /** Idle VMs for the memory figures. */
  idle: number;
  peers: Set<Peer>;
  install: boolean;
  log: (line: string) => void;
}

export const DEFAULTS = { runs: 10, vms: 20, idle: 5 };

export interface StartRow {
  figure: string;
  samples: number[];
  skipped?: string;
  note?: string;
}

export interface InstanceStartResult {
  accelerator: string;
  qemuVersion: string;
  vm: StartRow[];
  container: StartRow[];
  memory?: {
    vms: number;
    qemuRssKiB: number;
    qemuPssKiB: number;
    rawRssKiB?: number;
    rawPssKiB?: number;
    lodgeRssBeforeKiB: number;
    lodgeRssAfterKiB: number;
    lodgeGrowthKiB: number;
  };
  burst?: { vms: number; totalMs: number; each: { p50: number; p90: number; max: number }; postsMs: number; stateKiB: number; overlayKiB: number; imageKiB: number; imageDiskKiB: number };
  details: string[];
  lodgeCommand: string;
  rawCommand: string;
  leftovers: string[];
}

// ---- reading console logs for a marker -----------------------------------------

/** Reads files as they grow and says when a text first appears in each; one loop for any number of files. */
class MarkerPoller {
  readonly #pending = new Map<string, { text: string; offset: number; tail: string; done: (t: number) => void }>();
  #timer: NodeJS.Timeout | undefined;

  /** Resolves with nowMs() of the poll that first saw `text` in `path` (which may not exist yet). */
  wait(path: string, text: string, timeoutMs: number): Promise<number> {
    return new Promise((res, rej) => {
      const timer = setTimeout(() => {
        this.#pending.delete(path);
        rej(new Error(`no ${JSON.stringify(text)} in ${path} within ${timeoutMs} ms; it ends:\n${this.#tail(path)}`));
      }, timeoutMs);
      this.#pending.set(path, {
        text,
        offset: 0,
        tail: '',
        done: (t) => {
          clearTimeout(timer);
          this.#pending.delete(path);
          res(t);
        },
      });
      this.#schedule(0);
    });
  }

  #tail(path: string): string {
    try {
      return readFileSync(path, 'utf8').slice(-1500);
    } catch {
      return '(no file)';
    }
  }

  #schedule(ms: number): void {
    if (this.#timer || this.#pending.size === 0) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#poll();
      this.#schedule(POLL_MS);
    }, ms);
  }

  #poll(): void {
    const buf = Buffer.alloc(64 * 1024);
    for (const [path, p] of this.#pending) {
      let fd: number;
      try {
        fd = openSync(path, 'r');
      } catch {
        continue;
      }
      try {
        for (;;) {
          const n = readSync(fd, buf, 0, buf.length, p.offset);
          if (n <= 0) break;
          p.offset += n;
          // Keep the end of what was read, so a marker split across reads is still found.
          const text = p.tail + buf.subarray(0, n).toString('latin1');
          if (text.includes(p.text)) {
            p.done(nowMs());
            break;
          }
          p.tail = text.slice(-p.text.length);
        }
      } finally {
        closeSync(fd);
      }
    }
  }
}

// ---- host state ------------------------------------------------------------------

function duKiB(paths: string[]): number {
  const there = paths.filter((p) => existsSync(p));
  if (!there.length) return 0;
  const r = spawnSync('du', ['-skc', ...there], { encoding: 'utf8' });
  return Number(/^(\d+)\s+total$/m.exec(r.stdout)?.[1] ?? NaN);
}


function cgroupDirs(path: string): string[] {
  const out: string[] = [];
  for (const h of existsSync('/sys/fs/cgroup') ? readdirSync('/sys/fs/cgroup') : []) {
    const d = join('/sys/fs/cgroup', h, path);
    if (existsSync(d)) out.push(d);
  }
  // cgroup v2 (unified at the root) has no per-controller hierarchies.
  if (existsSync(join('/sys/fs/cgroup', path)) && !out.includes(join('/sys/fs/cgroup', path))) out.push(join('/sys/fs/cgroup', path));
  return out;
}

const msf = (x: number): string => (Number.isFinite(x) ? x.toFixed(x < 100 ? 1 : 0) : '–');
const mib = (kib: number): string => (Number.isFinite(kib) ? `${(kib / 1024).toFixed(1)} MiB` : '–');

// ---- the bench ---------------------------------------------------------------------

export async function runInstanceStartBench(o: InstanceStartOptions): Promise<InstanceStartResult> {
  if (process.getuid?.() !== 0) throw new Error('the instance-start bench needs root (runc, QEMU in cgroups, mounts)');
  for (const b of ['runc', 'conmon', 'busybox', 'qemu-system-x86_64', 'qemu-img']) if (!which(b)) throw new Error(`${b} is needed: node scripts/setup.mjs`);
  // Short: QEMU's sockets end up at DATA_DIR/runtime/vms/i-<uid>/console.sock, and a unix socket path has 107 bytes.
  const tmp = mkdtempSync('/tmp/lis-');
  const details: string[] = [];
  const uids = new Set<string>();
  /** QEMU pids seen for this run's VMs (Lodge's and the raw ones), with what their argv must contain. */
  const qemuPids = new Map<number, string>();
  const raws = new Set<RawVm>();
  let lxd: LxdPeer | undefined;
  let lxdSkipped: string | undefined = o.peers.has('lxd') ? undefined : 'not asked for (--peers)';
  let lodge: RunningLodge | undefined;
  let watch: ResourceWatch | undefined;
  let api: Conn | undefined;
  const leftovers: string[] = [];
  const poller = new MarkerPoller();
  const qemuVersion = lastLine(execFileSync('qemu-system-x86_64', ['--version'], { encoding: 'utf8' }).split('\n')[0] ?? '').replace(/^QEMU emulator version /, '');

  const lodgeLeftovers = (): string[] => {
    const left: string[] = [];
    for (const uid of uids) {
      if (existsSync(join(LODGE_RUNC_ROOT, instanceId(uid)))) left.push(`runc container ${instanceId(uid)}`);
      if (existsSync(`/run/netns/${instanceNetnsName(uid)}`)) left.push(`netns ${instanceNetnsName(uid)}`);
      for (const d of cgroupDirs(instanceCgroup(uid))) left.push(`cgroup ${d}`);
    }
    for (const pid of pids()) {
      // lodge up itself is stopped by PID and checked on its own.
      if (pid === process.pid || (lodge && pid === lodge.pid && alive(lodge.pid))) continue;
      const s = cmdline(pid).join(' ');
      if (!s) continue;
      if ([...uids].some((u) => s.includes(u)) || s.includes(tmp)) left.push(`process ${pid}: ${s.slice(0, 140)}`);
    }
    const mine = [...uids];
    for (const l of readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
      const m = l.split(' ')[4] ?? '';
      if (m.startsWith(`${tmp}/`) || mine.some((u) => m.includes(u))) left.push(`mount ${m}`);
    }
    return left;
  };
  /** Last resort for what the agent did not remove, by this run's uids and pids only. */
  const sweepLodge = (): void => {
    for (const [pid, mark] of qemuPids) if (alive(pid) && cmdline(pid).join(' ').includes(mark)) process.kill(pid, 'SIGKILL');
    for (const uid of uids) {
      spawnSync('runc', ['--root', LODGE_RUNC_ROOT, 'delete', '--force', instanceId(uid)]);
      spawnSync('ip', ['netns', 'del', instanceNetnsName(uid)]);
    }
    for (const l of lodgeLeftovers()) if (l.startsWith('mount ')) spawnSync('umount', ['-l', l.slice(6)]);
    for (const uid of uids) for (const d of cgroupDirs(instanceCgroup(uid)).reverse()) spawnSync('rmdir', [d]);
  };

  let cleaning: Promise<void> | undefined;
  const cleanup = (): Promise<void> =>
    (cleaning ??= (async () => {
      for (const vm of raws) vm.kill();
      await Promise.all([...raws].map((vm) => vm.exited));
      if (lodge && api) {
        // Instances first, through the API, while the agent runs: it stops them and removes their state.
        try {
          const list = JSON.parse((await call(api, lodge, 'GET', INSTANCES)).text) as { items: any[] };
          await Promise.all(list.items.map((i) => call(api!, lodge!, 'DELETE', `${INSTANCES}/${i.metadata.name}`, { ok: [200, 202, 404] }).catch(() => undefined)));
          const t = Date.now() + 180_000;
          let left = list.items.length;
          while (left > 0 && Date.now() < t) {
            await sleep(250);
            left = (JSON.parse((await call(api, lodge, 'GET', INSTANCES)).text) as { items: any[] }).items.length;
          }
          if (left > 0) leftovers.push(`${left} Instances still in the API after 180 s`);
        } catch (e) {
          o.log(`cleanup: deleting instances: ${(e as Error).message}`);
          leftovers.push(`deleting Instances failed: ${(e as Error).message}`);
        }
      }
      await watch?.close().catch(() => undefined);
      if (api) await closeAll([api]);
      if (lxd) await lxd.cleanup().catch((e: Error) => o.log(`cleanup lxd: ${e.message}`));
      if (lodgeLeftovers().length) {
        o.log(`cleanup: sweeping what the agent left: ${lodgeLeftovers().join('; ')}`);
        sweepLodge();
      }
      if (lodge) {
        const t = nowMs();
        const exit = await lodge.stop();
        if (exit.code !== 0) details.push(`lodge up exited with ${exit.code ?? exit.signal} ${((nowMs() - t) / 1000).toFixed(1)} s after SIGTERM (a SIGKILL comes after 30 s), with no Instances left`);
        if (alive(lodge.pid)) leftovers.push(`lodge up ${lodge.pid} still running`);
      }
      // The check the bench owes the host: nothing of this run is left.
      leftovers.push(...lodgeLeftovers());
      if (lxd) leftovers.push(...(await lxd.leftovers().catch((e: Error) => [`lxd: ${e.message}`])));
      for (const m of mountsUnder([tmp])) leftovers.push(`mount ${m}`);
      if (!leftovers.some((l) => l.startsWith('mount '))) {
        rmSync(tmp, { recursive: true, force: true });
        if (existsSync(tmp)) leftovers.push(`temp dir ${tmp}`);
      } else leftovers.push(`temp dir ${tmp} kept (mounts under it)`);
    })());
  const onSignal = (): void => void cleanup().finally(() => process.exit(130));
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  const vmRows: StartRow[] = [];
  const ctRows: StartRow[] = [];
  let memory: InstanceStartResult['memory'];
  let burst: InstanceStartResult['burst'];
  let accelerator = '?';
  let rawCommand = '';
  try {
    // The busybox rootfs for LXD: the image store's built-in busybox, the same one Lodge boots.
    const images = await ImageStore.open({ root: join(tmp, 'images') });
    await images.ensureBuiltin('busybox');
    const prepared = await images.prepare('busybox');
    if (prepared.rootfs.lowerDirs.length !== 1) throw new Error(`busybox has ${prepared.rootfs.lowerDirs.length} layers; expected one`);
    const rootfs = join(tmp, 'busybox-rootfs');
    const cp = spawnSync('cp', ['-a', prepared.rootfs.lowerDirs[0]!, rootfs]);
    if (cp.status !== 0) throw new Error(`cp busybox layer: ${cp.stderr}`);

    lodge = await startLodge({ agent: true, parent: tmp, upArgs: ['--node-name', NODE, '--compact-interval', '3600'], env: { LODGE_LOG_LEVEL: 'warn' } });
    o.log(`lodge up: pid ${lodge.pid} at ${lodge.url}`);
    api = connect(lodge, 'h1');
    const l = lodge;
    const c = api;
    const nodeReadyBy = Date.now() + 60_000;
    for (;;) {
      const r = await call(c, l, 'GET', `/api/v1/nodes/${NODE}`, { ok: [200, 404] });
      const n = r.status === 200 ? (JSON.parse(r.text) as any) : undefined;
      if (n?.status?.conditions?.some((x: any) => x.type === 'Ready' && x.status === 'True')) break;
      if (Date.now() > nodeReadyBy) throw new Error(`node ${NODE} not Ready after 60 s:\n${l.logTail()}`);
      await sleep(100);
    }
    await call(c, l, 'POST', '/api/v1/namespaces', { body: JSON.stringify({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS } }) });
    watch = await ResourceWatch.open(l, INSTANCES);
    const w = watch;

    const consoleLog = (uid: string): string => join(l.dataDir, 'instances', uid, 'console.log');
    const vmDir = (uid: string): string => join(l.dataDir, 'runtime', 'vms', instanceId(uid));
    const create = async (name: string, type: 'vm' | 'container', conn: Conn = c): Promise<string> => {
      const body = {
        apiVersion: 'lodge.dev/v1alpha1',
        kind: 'Instance',
        metadata: { name, namespace: NS, labels: { bench: 'instance-start' } },
        spec: { type, image: type === 'vm' ? 'busybox-vm' : 'busybox', memory: `${VM_MEMORY_MIB}Mi`, cpu: 1, terminationGracePeriodSeconds: 5 },
      };
      const r = await call(conn, l, 'POST', INSTANCES, { body: JSON.stringify(body), ok: [201] });
      const uid = String((JSON.parse(r.text) as any).metadata.uid);
      uids.add(uid);
      return uid;
    };
    /** The QEMU of a Lodge VM, from the driver's pid file; remembered for the sweep. */
    const lodgeQemu = (uid: string): number | undefined => {
      try {
        const pid = Number(readFileSync(join(vmDir(uid), 'pid'), 'utf8').trim());
        if (pid > 0) qemuPids.set(pid, `guest=${instanceId(uid)}`);
        return pid > 0 && alive(pid) ? pid : undefined;
      } catch {
        return undefined;
      }
    };
    const remove = async (names: string[], timeoutMs: number): Promise<void> => {
      await Promise.all(names.map((n) => call(c, l, 'DELETE', `${INSTANCES}/${n}`, { ok: [200, 202] })));
      await w.until(`${names.length} instances deleted`, () => names.every((n) => w.seen.get(n)?.deleted !== undefined), timeoutMs);
    };
    /** One Lodge start: POST → marker in the console log, and POST → phase Running on the watch. */
    const lodgeStart = async (name: string, type: 'vm' | 'container', timeoutMs: number): Promise<{ uid: string; ready: number; phase: number; post: number }> => {
      const t0 = nowMs();
      const uid = await create(name, type);
      const tPost = nowMs();
      const marker = type === 'vm' ? GUEST_READY_MARKER : `${BOOT_MARKER} ${name}`;
      // A start that fails says why in its status: show it while waiting rather than only time out.
      const progress = setInterval(() => {
        call(c, l, 'GET', `${INSTANCES}/${name}`, { ok: [200, 404] })
          .then((r) => {
            const s = (JSON.parse(r.text) as any).status ?? {};
            if (s.reason || s.message) o.log(`${name}: ${s.phase ?? '?'} ${s.reason ?? ''} ${s.message ?? ''}`.trim());
          })
          .catch(() => undefined);
      }, 30_000);
      const ready = await poller.wait(consoleLog(uid), marker, timeoutMs).finally(() => clearInterval(progress));
      await w.until(`${name} Running`, () => w.seen.get(name)?.running !== undefined, timeoutMs);
      if (type === 'vm') lodgeQemu(uid);
      return { uid, ready: ready - t0, phase: w.seen.get(name)!.running! - t0, post: tPost - t0 };
    };

    // ---- the image: the first VM builds it (unmeasured) ------------------------
    o.log('first VM (builds busybox-vm when this data dir has none; the kernel .deb is cached per machine)');
    const first = await lodgeStart('prepare-vm', 'vm', 15 * 60_000);
    const inst = JSON.parse((await call(c, l, 'GET', `${INSTANCES}/prepare-vm`)).text) as any;
    accelerator = String(inst.status?.accelerator ?? '?');
    let lodgeArgv: string[] = [];
    try {
      lodgeArgv = (JSON.parse(readFileSync(join(vmDir(first.uid), 'vm.json'), 'utf8')) as { argv: string[] }).argv;
    } catch {
      /* the record's shape is the driver's business; the command is only reported */
    }
    const img: VmImage | undefined = await (await VmImages.open(join(l.dataDir, 'images'))).get('busybox-vm');
    if (!img) throw new Error('busybox-vm is not in the data dir after a VM booted from it');
    await remove(['prepare-vm'], 120_000);
    o.log(`image ready (${accelerator}); first VM ready ${msf(first.ready)} ms after its POST, image build included`);

    // The hand-written baseline: the same files and kernel command line as the driver's, -serial stdio.
    const accel = accelerator === 'kvm' ? 'kvm' : 'tcg';
    const cmdlineText = kernelCmdline({ cmdline: img.cmdline } as VmSpec, profileCmdline(DEFAULT_BOOT_PROFILE));
    const rawOpts = (disk: string) => ({ kernel: img.kernel, initrd: img.initrd, cmdline: cmdlineText, disk, profile: DEFAULT_BOOT_PROFILE, cpus: 1, memoryMiB: VM_MEMORY_MIB, accel } as const);
    const shown = (a: string): string => a.replaceAll(l.dataDir, 'DIR').replaceAll(tmp, 'TMP');
    const quoted = (a: string): string => (/\s/.test(a) ? `"${shown(a)}"` : shown(a));
    rawCommand = `qemu-img create -q -f qcow2 -F qcow2 -b ${shown(img.disk.path)} OVERLAY && qemu-system-x86_64 ${rawQemuArgs(rawOpts('OVERLAY')).map(quoted).join(' ')}`;
    let rawN = 0;
    /** One raw boot: overlay creation + spawn → marker on stdout; returns the running VM when `keep`. */
    const rawStart = async (keep = false): Promise<{ ms: number; overlayMs: number; vm?: RawVm }> => {
      const overlay = join(tmp, `raw-${rawN++}.qcow2`);
      const t0 = nowMs();
      execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', '-F', 'qcow2', '-b', img.disk.path, overlay]);
      const overlayMs = nowMs() - t0;
      const vm = RawVm.start(rawOpts(overlay));
      raws.add(vm);
      if (vm.pid) qemuPids.set(vm.pid, overlay);
      try {
        await vm.waitFor(GUEST_READY_MARKER, 120_000);
        const ms = nowMs() - t0;
        if (keep) return { ms, overlayMs, vm };
        return { ms, overlayMs };
      } finally {
        if (!keep) {
          vm.kill();
          await vm.exited;
          raws.delete(vm);
          rmSync(overlay, { force: true });
        }
      }
    };
    const killRaw = async (vm: RawVm): Promise<void> => {
      vm.kill();
      await vm.exited;
      raws.delete(vm);
    };

    // ---- 1. VM start, against the raw command line ------------------------------
    o.log('VM: one unmeasured raw boot, then measured runs');
    await rawStart();
    const vmReady: number[] = [];
    const vmPhase: number[] = [];
    const vmPost: number[] = [];
    const rawReady: number[] = [];
    const overlayMs: number[] = [];
    for (let i = 0; i < o.runs; i++) {
      const lodgeRun = async (): Promise<void> => {
        const r = await lodgeStart(`vm-${i}`, 'vm', 120_000);
        vmReady.push(r.ready);
        vmPhase.push(r.phase);
        vmPost.push(r.post);
        await remove([`vm-${i}`], 120_000);
      };
      const rawRun = async (): Promise<void> => {
        const r = await rawStart();
        rawReady.push(r.ms);
        overlayMs.push(r.overlayMs);
      };
      if (i % 2 === 0) {
        await lodgeRun();
        await rawRun();
      } else {
        await rawRun();
        await lodgeRun();
      }
      o.log(`VM ${i + 1}/${o.runs}: Lodge ${msf(vmReady.at(-1)!)} ms, raw ${msf(rawReady.at(-1)!)} ms`);
    }
    vmRows.push({ figure: `Lodge: POST → ${GUEST_READY_MARKER} in the console log`, samples: vmReady, note: `console log polled every ${POLL_MS} ms` });
    vmRows.push({ figure: 'Lodge: POST → status.phase Running (watch)', samples: vmPhase, note: 'the agent marks Running once QEMU runs the guest, before it boots' });
    vmRows.push({ figure: `raw qemu-system-x86_64: qemu-img create + spawn → ${GUEST_READY_MARKER} on stdout`, samples: rawReady, note: `overlay creation median ${msf(median(overlayMs))} ms of it` });
    details.push(
      `VM start: ${o.runs} runs after one unmeasured boot of each (the first Lodge VM also built the image), Lodge and the raw command alternating which goes first; each VM deleted (Lodge) or killed (raw) before the next starts. ` +
        `The POST itself took median ${msf(median(vmPost))} ms. Guest: busybox-vm, ${img.kernelPackage} (${img.kernelRelease}), 1 vCPU, ${VM_MEMORY_MIB} MiB, boot profile ${DEFAULT_BOOT_PROFILE.machine}, kernel command line \`${cmdlineText}\`.`,
    );
    if (lodgeArgv.length) details.push(`Lodge's QEMU (from the driver's vm.json): \`${lodgeArgv.map(quoted).join(' ')}\``);
    details.push(`raw: \`${rawCommand}\` — the same kernel, initrd, base disk, kernel command line (less the instance's own lodge.* options), machine, vCPUs and memory; what Lodge adds (paused start + QMP cont, daemonizing, the cgroup, the console socket and log file, the TCG tb-size bound, pvpanic and the guest-agent port) is inside the ratio.`);

    // ---- 2. idle VMs: memory ------------------------------------------------------
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
      const idleUids: string[] = [];
      for (const n of names) {
        const r = await lodgeStart(n, 'vm', 180_000);
        idleUids.push(r.uid);
      }
      const raw = await rawStart(true);
      await sleep(5000); // idle: the guests sit at their shell, status writes have settled
      const after = await rssSamples();
      let rss = 0;
      let pss = 0;
      for (const uid of idleUids) {
        const pid = lodgeQemu(uid);
        const m = pid === undefined ? undefined : memKiB(pid);
        if (!m) throw new Error(`idle: no QEMU for instance ${uid}`);
        rss += m.rss;
        pss += m.pss;
      }
      const rm = raw.vm?.pid ? memKiB(raw.vm.pid) : undefined;
      memory = {
        vms: o.idle,
        qemuRssKiB: rss / o.idle,
        qemuPssKiB: pss / o.idle,
        rawRssKiB: rm?.rss,
        rawPssKiB: rm?.pss,
        lodgeRssBeforeKiB: before,
        lodgeRssAfterKiB: after,
        lodgeGrowthKiB: (after - before) / o.idle,
      };
      await killRaw(raw.vm!);
      details.push(
        `idle memory: ${o.idle} idle ${VM_MEMORY_MIB} MiB VMs booted one after another, then 5 s idle; RSS and PSS from /proc/PID/smaps_rollup of each VM's QEMU (its pid from the driver's state dir); one raw QEMU booted and measured the same way alongside. ` +
          `lodge up's VmRSS (median of 5 samples over 2.5 s) before the VMs were created and after, divided by ${o.idle} — includes V8 heap growth and GC timing, so read it as an order of magnitude.`,
      );
      o.log(`idle: QEMU RSS ${mib(memory.qemuRssKiB)}/VM, lodge +${memory.lodgeGrowthKiB.toFixed(0)} KiB/VM`);
      await remove(names, 180_000);
    }

    // ---- 3. many VMs at once ---------------------------------------------------------
    if (o.vms > 0) {
      await sleep(1000);
      const names = Array.from({ length: o.vms }, (_, k) => `burst-${k}`);
      const conns = Array.from({ length: Math.min(10, o.vms) }, () => connect(l, 'h1'));
      try {
        const t0 = nowMs();
        const burstUids = await Promise.all(names.map((n, k) => create(n, 'vm', conns[k % conns.length]!)));
        const tPosts = nowMs();
        const ready = await Promise.all(burstUids.map((uid) => poller.wait(consoleLog(uid), GUEST_READY_MARKER, 20 * 60_000)));
        const each = ready.map((t) => t - t0);
        for (const uid of burstUids) lodgeQemu(uid);
        const stateKiB = duKiB(burstUids.flatMap((uid) => [vmDir(uid), join(l.dataDir, 'instances', uid)]));
        const overlayKiB = duKiB(burstUids.map((uid) => join(vmDir(uid), 'disk.qcow2')));
        const imageDir = join(l.dataDir, 'images', 'vm', 'busybox-vm');
        const s = summarize(each);
        burst = { vms: o.vms, totalMs: s.max, each: { p50: s.p50, p90: s.p90, max: s.max }, postsMs: tPosts - t0, stateKiB, overlayKiB, imageKiB: duKiB([imageDir]), imageDiskKiB: duKiB([img.disk.path]) };
        details.push(
          `burst: ${o.vms} VMs POSTed at once over ${conns.length} connections (all created after ${msf(burst.postsMs)} ms); time from the first POST until each console log had ${GUEST_READY_MARKER}. ` +
            `Disk: \`du -sk\` of each VM's driver state dir (qcow2 overlay, sockets, record) and instance dir (console log) once all were ready, against the image directory (kernel, initrd, base disk). ` +
            `${machineInfo().nproc} host cores emulate ${o.vms} vCPUs under ${accelerator.toUpperCase()}, so the boots share the CPU.`,
        );
        o.log(`burst: ${o.vms} VMs ready after ${msf(burst.totalMs)} ms; state ${mib(stateKiB)} vs image ${mib(burst.imageKiB)}`);
      } finally {
        await closeAll(conns);
      }
      await remove(names, 600_000);
    }

    // ---- 4. system containers, against LXD ---------------------------------------------
    if (o.peers.has('lxd')) {
      try {
        o.log('setting up LXD');
        lxd = await lxdPeer(tmp, rootfs, o, {
          prepareRootfs: (dir) => {
            // Lodge's own inittab for busybox, plus a marker file the host can see (the console is not a file here).
            const tab = inittab('lxd', '/bin/busybox')
              .split('\n')
              .flatMap((line) => (line.includes(BOOT_MARKER) ? [line, "::sysinit:/bin/busybox sh -c 'echo booted > /lodge-booted'"] : [line]))
              .join('\n');
            writeFileSync(join(dir, 'etc', 'inittab'), tab);
            rmSync(join(dir, 'lodge-booted'), { force: true });
          },
          initDescription: "the image's own /sbin/init (busybox init) with the inittab Lodge writes for busybox images plus a sysinit line that writes /lodge-booted after the boot marker",
        });
      } catch (e) {
        lxdSkipped = (e as Error).message;
        o.log(`lxd: skipped: ${lxdSkipped}`);
      }
    }
    o.log('system containers: one unmeasured start, then measured runs');
    await lodgeStart('prepare-ct', 'container', 120_000);
    await remove(['prepare-ct'], 60_000);
    const ctReady: number[] = [];
    const ctPhase: number[] = [];
    const lxdLaunch: number[] = [];
    const lxdBooted: number[] = [];
    let lxdNoMarker = 0;
    for (let i = 0; i < o.runs; i++) {
      const lodgeRun = async (): Promise<void> => {
        const r = await lodgeStart(`ct-${i}`, 'container', 60_000);
        ctReady.push(r.ready);
        ctPhase.push(r.phase);
        await remove([`ct-${i}`], 60_000);
      };
      const lxdRun = async (): Promise<void> => {
        if (!lxd || lxdSkipped) return;
        try {
          const name = lxd.nameFor(i);
          const root = lxd.rootfsOf(name);
          const t0 = nowMs();
          const marker = root ? poller.wait(join(root, 'lodge-booted'), 'booted', 60_000).catch(() => undefined) : Promise.resolve(undefined);
          const s = await lxd.start(i);
          const booted = await marker;
          lxdLaunch.push(s.ms);
          if (booted === undefined) lxdNoMarker++;
          else lxdBooted.push(booted - t0);
          await lxd.remove(s.handle);
        } catch (e) {
          lxdSkipped = `failed in run ${i}: ${(e as Error).message}`;
          o.log(`lxd: ${lxdSkipped}`);
        }
      };
      if (i % 2 === 0) {
        await lodgeRun();
        await lxdRun();
      } else {
        await lxdRun();
        await lodgeRun();
      }
    }
    ctRows.push({ figure: `Lodge: POST → "${BOOT_MARKER} NAME" in the console log`, samples: ctReady, note: `busybox init's sysinit done; console log polled every ${POLL_MS} ms` });
    ctRows.push({ figure: 'Lodge: POST → status.phase Running (watch)', samples: ctPhase });
    const lxdFigure = lxd ? lxd.figure : 'lxc launch';
    ctRows.push({ figure: lxdFigure, samples: lxdSkipped ? [] : lxdLaunch, skipped: lxdSkipped, note: lxd?.note });
    ctRows.push({
      figure: 'lxc launch → /lodge-booted written by init (host view of the dir pool)',
      samples: lxdSkipped ? [] : lxdBooted,
      skipped: lxdSkipped ?? (lxdNoMarker ? `marker not seen in ${lxdNoMarker} runs` : undefined),
      note: 'polled from when `lxc launch` is spawned',
    });
    details.push(
      `system containers: ${o.runs} runs after one unmeasured Lodge start (and LXD's own probe launch), Lodge and LXD alternating which goes first; each deleted before the next. ` +
        `Both boot busybox init from the image store's built-in busybox rootfs with the inittab Lodge writes for it (sysinit: run dirs, rcS when present, the boot marker; syslogd respawned).`,
    );
    if (lxd && !lxdSkipped) details.push(`lxd: ${lxd.command}`);
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
  return { accelerator, qemuVersion, vm: vmRows, container: ctRows, memory, burst, details, lodgeCommand: lodge?.command ?? '', rawCommand, leftovers };
}

// ---- reporting ------------------------------------------------------------------------

function verdicts(res: InstanceStartResult): string[] {
  const med = (rows: StartRow[], prefix: string): number | undefined => {
    const r = rows.find((s) => s.figure.startsWith(prefix));
    return r && r.samples.length ? median(r.samples) : undefined;
  };
  const out: string[] = [];
  const vm = med(res.vm, 'Lodge: POST → LODGE');
  const raw = med(res.vm, 'raw');
  if (vm !== undefined && raw !== undefined) {
    const r = vm / raw;
    out.push(`VM: Lodge (POST → guest ready) / raw QEMU = ${r.toFixed(2)}× (target ≤ 1.15×): ${r <= 1.15 ? 'PASS' : 'MISS'} — ${msf(vm)} ms vs ${msf(raw)} ms under ${res.accelerator.toUpperCase()}; ${FIRECRACKER}, not comparable under TCG`);
  }
  const ct = med(res.container, 'Lodge: POST → "');
  const launch = med(res.container, 'lxc launch (');
  const booted = med(res.container, 'lxc launch →');
  if (ct !== undefined) {
    if (launch === undefined) out.push('system container: LXD / Lodge: not measured');
    else out.push(`system container: LXD (lxc launch) / Lodge (POST → boot marker) = ${(launch / ct).toFixed(2)}× (target ≥ 3×): ${launch / ct >= 3 ? 'PASS' : 'MISS'}`);
    if (booted !== undefined) out.push(`system container: LXD (launch → init's marker) / Lodge (POST → boot marker) = ${(booted / ct).toFixed(2)}×`);
  }
  return out;
}

function table(h: string[], body: string[][], numeric: number[], markdown: boolean): string {
  if (markdown) return [`| ${h.join(' | ')} |`, `|${h.map((_, i) => (numeric.includes(i) ? '---:' : '---')).join('|')}|`, ...body.map((b) => `| ${b.join(' | ')} |`)].join('\n');
  const widths = h.map((x, i) => Math.max(x.length, ...body.map((b) => b[i]!.length)));
  const line = (cells: string[]): string => cells.map((c, i) => (numeric.includes(i) ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join('  ').trimEnd();
  return [line(h), line(widths.map((x) => '-'.repeat(x))), ...body.map(line)].join('\n');
}

function startTable(title: string, rows: StartRow[], base: StartRow | undefined, baseName: string, markdown: boolean): string {
  const baseMed = base && base.samples.length ? median(base.samples) : undefined;
  const body = rows.map((r) => {
    if (!r.samples.length) return [r.figure, '–', '–', '–', '', `not measured: ${r.skipped ?? 'no samples'}`];
    const s = summarize(r.samples);
    return [r.figure, msf(s.p50), msf(s.p90), msf(s.max), baseMed ? `${(s.p50 / baseMed).toFixed(2)}×` : '', r.note ?? ''];
  });
  return table([title, 'median', 'p90', 'max', `vs ${baseName}`, 'note'], body, [1, 2, 3, 4], markdown);
}

export function formatReport(res: InstanceStartResult, markdown: boolean): string {
  const parts = [
    startTable(`VM start (ms, ${res.accelerator.toUpperCase()})`, res.vm, res.vm.find((r) => r.figure.startsWith('raw')), 'raw', markdown),
    '',
    startTable('system container start (ms)', res.container, res.container.find((r) => r.figure.startsWith('Lodge: POST → "')), 'Lodge', markdown),
    '',
    ...verdicts(res).map((v) => (markdown ? `- ${v}` : v)),
  ];
  const other: string[][] = [];
  if (res.memory) {
    const m = res.memory;
    other.push([`idle ${VM_MEMORY_MIB} MiB VM (${m.vms} running): Lodge's QEMU`, `${mib(m.qemuRssKiB)} RSS`, `${mib(m.qemuPssKiB)} PSS`]);
    if (m.rawRssKiB !== undefined) other.push([`idle ${VM_MEMORY_MIB} MiB VM: raw QEMU`, `${mib(m.rawRssKiB)} RSS`, `${mib(m.rawPssKiB ?? NaN)} PSS`]);
    other.push([`idle VM (${m.vms} running): lodge up RSS growth`, `${m.lodgeGrowthKiB.toFixed(0)} KiB/VM`, `${mib(m.lodgeRssBeforeKiB)} before, ${mib(m.lodgeRssAfterKiB)} after`]);
  }
  if (res.burst) {
    const b = res.burst;
    other.push([`${b.vms} VMs at once: all guests ready`, `${msf(b.totalMs)} ms`, `each from the first POST: median ${msf(b.each.p50)} ms, p90 ${msf(b.each.p90)} ms`]);
    other.push([`${b.vms} VMs at once: disk used by their state`, mib(b.stateKiB), `overlays ${mib(b.overlayKiB)} (${(b.overlayKiB / b.vms).toFixed(0)} KiB/VM); image ${mib(b.imageKiB)} (base disk ${mib(b.imageDiskKiB)}) — ${((b.stateKiB / b.imageKiB) * 100).toFixed(1)}% of one image for all ${b.vms}`]);
  }
  if (other.length) parts.push('', table(['figure', 'value', 'detail'], other, [1], markdown));
  parts.push('', res.leftovers.length ? `cleanup check: LEFT BEHIND: ${res.leftovers.join('; ')}` : 'cleanup check: nothing left (no Instance in the API, lodge up stopped, no QEMU, runc container, conmon, netns, cgroup, mount or LXD container of this run; temp dir removed)');
  return parts.join('\n');
}

export function resultsSection(res: InstanceStartResult, command: string, o: InstanceStartOptions): string {
  const date = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
  return [
    `Date: ${date}`,
    '',
    `Command: \`${command}\``,
    '',
    `Machine: ${describeMachine(machineInfo())}; QEMU ${res.qemuVersion}, accelerator **${res.accelerator.toUpperCase()}**${res.accelerator === 'tcg' ? ' (/dev/kvm here is kvm_pvm, which cannot run a standard guest: the agent\'s probe chose TCG)' : ''}.`,
    '',
    `Server: \`${res.lodgeCommand}\` with its node agent (a child process in a temporary data dir), driven over HTTPS on loopback with the admin bearer token. ${o.runs} measured runs per start figure. ` +
      `For scale: ${FIRECRACKER}; the figures here are instruction-translated (TCG) boots of Debian's stock cloud kernel.`,
    '',
    formatReport(res, true),
    '',
    ...res.details.map((d) => `- ${d}`),
  ].join('\n');
}

// ---- command line -------------------------------------------------------------------------

export function parseInstanceStartArgs(argv: string[], log: (l: string) => void): { opts: InstanceStartOptions; write: boolean } {
  const { values } = parseArgs({
    args: argv,
    options: {
      runs: { type: 'string' },
      vms: { type: 'string' },
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
      vms: num(values.vms, DEFAULTS.vms, 'vms', 0),
      idle: num(values.idle, DEFAULTS.idle, 'idle', 0),
      peers,
      install: !values['no-install'],
      log,
    },
  };
}

/** Run, print the report, refresh RESULTS.md (unless told not to). */
export async function instanceStartMain(argv: string[], command: string): Promise<void> {
  const log = (l: string): void => void process.stderr.write(`bench: ${l}\n`);
  const { opts, write } = parseInstanceStartArgs(argv, log);
  const res = await runInstanceStartBench(opts);
  process.stdout.write(
    `\nLodge Instance start — ${describeMachine(machineInfo())}\nQEMU ${res.qemuVersion}, accelerator ${res.accelerator.toUpperCase()}; ${opts.runs} runs\n\n${formatReport(res, false)}\n\n${res.details.map((d) => `- ${d}`).join('\n')}\n`,
  );
  if (write) {
    writeSection(RESULTS_MD, SECTION, resultsSection(res, command, opts));
    process.stdout.write(`\nwrote ${relative(process.cwd(), RESULTS_MD) || RESULTS_MD}\n`);
  }
  if (res.leftovers.length) throw new Error(`left behind on the host: ${res.leftovers.join('; ')}`);
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  instanceStartMain(process.argv.slice(2), commandLine()).catch((e: Error) => {
    process.stderr.write(`bench: ${e.stack ?? e.message}\n`);
    process.exit(1);
  });
}
