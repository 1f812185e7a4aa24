// The VM side of InstanceDriver: one daemonized QEMU per VM, controlled over
// QMP, with a qcow2 overlay on the image's disk and its own cgroup. Like the
// container driver it keeps no state in memory: everything is in
// <root>/vms/<id>/, so a new driver (after the agent was SIGKILLed) finds
// and controls exactly what the old one left running. Operations on one id
// are expected to be serialized by the caller (the agent's per-workload
// queue); QEMU serves one QMP client at a time, so every operation connects,
// asks and disconnects rather than holding the monitor.
//
// A guest that powers off ends its QEMU (no -no-shutdown): the VM is then
// "stopped" with its exit recorded, its overlay and log kept until delete,
// and nothing runs that nobody uses. A restart is delete + create, as for
// containers; the overlay (what the guest wrote) lives only as long as the
// workload, and a disk that must persist across restarts is the instance
// layer's to keep (a volume), not QEMU's.
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { dirname, resolve } from 'node:path';
import type { Duplex } from 'node:stream';
import { createLogger, type Logger } from '../../../util/log.js';
import { DEFAULT_BOOT_PROFILE, profileCmdline, type BootProfile } from '../../images/vm/boot-profile.js';
import {
  ExecFailedError,
  WorkloadExistsError,
  WorkloadNotFoundError,
  type ExecOptions,
  type ExecProcess,
  type InstanceDriver,
  type WorkloadSpec,
  type WorkloadState,
  type WorkloadStats,
} from '../../runtime/driver.js';
import { normalizeCgroupsPath, oomKills, readCgroupStats, removeCgroup } from '../container/cgroups.js';
import { findExecutable } from '../container/command.js';
import { exists, readPid, readText, waitFor } from '../container/proc.js';
import { isValidId, listWorkloads } from '../../runtime/list-workloads.js';
import { readStateRecord } from '../../runtime/state-record.js';
import { Reverter } from '../container/reverter.js';
import { probeAccelerator, type Accelerator } from './accel.js';
import { createVmCgroup } from './cgroup.js';
import { createOverlay } from './disk.js';
import { inferExit, readExit, recordExit, type VmExit } from './exit.js';
import { launchQemu } from './launch.js';
import { checkStateFile, loadUri, qemuLogTail, saveUri, syncFile, tuneForLocalSave, waitMigration } from './migration.js';
import { blockChain, blockdevSnapshot, blockStream, freezeGuest, rootVirtualSize, type Frozen } from './snapshot.js';
import { Layout, MAX_SOCKET_PATH, validateId, type VmPaths, type VmRecord } from './layout.js';
import { GuestAgentSessions, GuestAgentUnavailableError, guestExec, type GuestAgentLease } from './guest-agent/index.js';
import { qemuArgs } from './qemu-args.js';
import { QmpClient } from './qmp/index.js';
import { qemuAlive, signalQemu, waitQemuGone } from './qemu-process.js';
import { mapQemuStatus } from './status.js';

export interface VmDriverOptions {
  /** State root: vms/<id>/ (record, pid files, overlay, sockets, exit record). */
  root: string;
  /** Found on PATH when not given. */
  qemuPath?: string;
  qemuImgPath?: string;
  /** Skip the probe and use this (tests, or an operator who knows better). */
  accelerator?: Accelerator;
  /** A guest kernel for the probe's real boot under KVM (check 4 in accel.ts). */
  probeKernel?: string;
  bootProfile?: BootProfile;
  logger?: Logger;
  /** How long QEMU may take to set up (until it daemonizes). */
  createTimeoutMs?: number;
  /** How long exec waits for the guest agent to answer (a guest still booting), default 90 s. */
  guestAgentTimeoutMs?: number;
}

export interface SnapshotDiskOptions {
  /** Freeze the guest's filesystems around the switch through its agent (default true); without an agent the snapshot is crash-consistent. */
  freeze?: boolean;
}

export interface SaveStateOptions {
  /**
   * Called while the vCPUs are stopped, before the state is written: the
   * moment to switch the disk (snapshotDisk with freeze false) so that it
   * matches the saved memory. QMP is free meanwhile. A rejection aborts the
   * save and the guest runs on.
   */
  beforeSave?: () => Promise<void>;
  /** How long the write may take; default scaled to the guest's memory. */
  timeoutMs?: number;
}

export interface StreamDiskOptions {
  /** Default scaled to the disk's virtual size. */
  timeoutMs?: number;
}

const MiB = 1024 * 1024;
/** QEMU's own memory beyond guest RAM: the TCG translation cache (bounded, below) plus its heap, device and I/O buffers. Measured RSS of an idle 256 MiB TCG guest is ~240 MiB. */
const TCG_TB_SIZE_MIB = 256;
const QEMU_OVERHEAD_BYTES = { tcg: (TCG_TB_SIZE_MIB + 192) * MiB, kvm: 192 * MiB };
/** vCPU threads, the main loop, RCU, and the block layer's worker pool (up to 64). */
const QEMU_PIDS = 256;
const QMP_TIMEOUT_MS = 5000;
/** A power-button press before the guest's handler runs is lost; press again this often while waiting. */
const POWERDOWN_REPEAT_MS = 3000;
const QUIT_WAIT_MS = 5000;
const KILL_WAIT_MS = 10_000;
/** A boot under TCG takes seconds, and tens of them on a host busy booting many; the agent starts at the end of rcS. */
const GUEST_AGENT_TIMEOUT_MS = 90_000;
/** A running guest's agent answers a sync in milliseconds; one that does not within this is taken as absent (the snapshot is then crash-consistent). */
const FREEZE_SYNC_TIMEOUT_MS = 3000;
/** guest-fsfreeze-freeze syncs every filesystem first, which under TCG with a dirty page cache can take a while. */
const FREEZE_TIMEOUT_MS = 5000;
const THAW_TIMEOUT_MS = 10_000;
/** Migration to or from a local file: a fixed allowance plus a floor on the rate (an idle 256 MiB TCG guest saves in ~0.1 s here, ~2.5 GiB/s of guest RAM; this allows for a busy host and a full, non-zero RAM). */
const MIGRATION_BASE_MS = 60_000;
const MIGRATION_MIN_BYTES_PER_MS = 20 * MiB / 1000;
/** block-stream copies every allocated cluster of the layers above base: allow for a slow, busy disk. */
const STREAM_BASE_MS = 120_000;
const STREAM_MIN_BYTES_PER_MS = 5 * MiB / 1000;

export class VmDriver implements InstanceDriver {
  readonly kind = 'vm' as const;
  private readonly layout: Layout;
  /** Open guest agent connections, shared by concurrent execs in one VM (QEMU serves one client per socket). */
  private readonly guestAgents = new GuestAgentSessions();

  private constructor(
    private readonly qemuPath: string,
    private readonly qemuImgPath: string,
    /** The accelerator new VMs get, and why (shown on the Node and in `lodge info`). */
    readonly accelerator: Accelerator,
    readonly acceleratorReason: string,
    private readonly profile: BootProfile,
    private readonly log: Logger,
    private readonly opts: VmDriverOptions,
  ) {
    this.layout = new Layout(opts.root);
  }

  /** Find QEMU, probe the accelerator, make the state dir. */
  static async open(opts: VmDriverOptions): Promise<VmDriver> {
    const qemuPath = opts.qemuPath ?? (await findExecutable('qemu-system-x86_64'));
    const qemuImgPath = opts.qemuImgPath ?? (await findExecutable('qemu-img'));
    const missing = [!qemuPath && 'qemu-system-x86_64', !qemuImgPath && 'qemu-img'].filter(Boolean);
    if (missing.length) throw new Error(`vm driver: ${missing.join(' and ')} not found on PATH or in /usr/sbin, /usr/bin; install qemu-system-x86 and qemu-utils (node scripts/setup.mjs)`);
    const layout = new Layout(opts.root);
    await mkdir(layout.vmsDir, { recursive: true });
    const log = (opts.logger ?? createLogger()).child({ component: 'vm-driver' });
    const probe = opts.accelerator ? { accelerator: opts.accelerator, reason: `${opts.accelerator.toUpperCase()}: set by configuration` } : await probeAccelerator({ qemuPath: qemuPath as string, kernel: opts.probeKernel });
    log.info('accelerator', { accelerator: probe.accelerator, reason: probe.reason });
    return new VmDriver(qemuPath as string, qemuImgPath as string, probe.accelerator, probe.reason, opts.bootProfile ?? DEFAULT_BOOT_PROFILE, log, opts);
  }

  async create(spec: WorkloadSpec): Promise<void> {
    validateId(spec.id);
    const vm = spec.vm;
    if (!vm) throw new Error(`create vm ${spec.id}: the spec has no vm section (kernel, disk, cpus, memory)`);
    if (!(vm.cpus >= 1) || !Number.isInteger(vm.cpus)) throw new Error(`create vm ${spec.id}: cpus must be a positive integer, not ${vm.cpus}`);
    if (!(vm.memoryBytes >= 16 * MiB)) throw new Error(`create vm ${spec.id}: memoryBytes ${vm.memoryBytes} is below 16 MiB`);
    const cgroupsPath = normalizeCgroupsPath(spec.cgroupsPath);
    // Absolute: QEMU runs daemonized in /. Checked now, so a wrong path fails create rather than leave a QEMU waiting for a stream that never comes.
    const incomingState = vm.incomingState === undefined ? undefined : resolve(vm.incomingState);
    if (incomingState !== undefined) await checkStateFile(incomingState).catch((e: Error) => {
      throw new Error(`create vm ${spec.id}: ${e.message}`);
    });
    const p = this.layout.of(spec.id);
    for (const s of [p.qmpSocket, p.consoleSocket, p.guestAgentSocket]) {
      if (Buffer.byteLength(s) > MAX_SOCKET_PATH) throw new Error(`create vm ${spec.id}: socket path ${s} is longer than a unix socket allows (${MAX_SOCKET_PATH} bytes): use a shorter driver root`);
    }
    try {
      await mkdir(p.dir);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EEXIST') throw new WorkloadExistsError(spec.id);
      throw new Error(`create vm ${spec.id}: cannot make its state dir: ${(e as Error).message}`);
    }
    const started = performance.now();
    const revert = new Reverter(this.log.child({ id: spec.id, op: 'create' }));
    try {
      revert.add('remove state dir', () => rm(p.dir, { recursive: true, force: true }));
      // An Instance's disk outlives this VM (kept by delete); a bare VM's lives in the state dir.
      const disk = vm.persistentDisk ?? p.overlay;
      const diskExists = vm.persistentDisk !== undefined && (await exists(vm.persistentDisk));
      const args = qemuArgs({ id: spec.id, vm: { ...vm, incomingState }, paths: { ...p, overlay: disk }, logPath: spec.logPath, accelerator: this.accelerator, profile: this.profile, profileCmdline: profileCmdline(this.profile), tcgTbSizeMiB: TCG_TB_SIZE_MIB, hostname: spec.hostname });
      const record: VmRecord = {
        id: spec.id,
        node: spec.node,
        cgroupsPath,
        logPath: spec.logPath,
        accelerator: this.accelerator,
        machine: this.profile.machine,
        cpus: vm.cpus,
        memoryBytes: vm.memoryBytes,
        argv: [this.qemuPath, ...args],
        createdAt: new Date().toISOString(),
        ...(incomingState !== undefined ? { incomingState } : {}),
      };
      // The record first: delete() and list() find a half-made VM by it.
      await writeFile(p.record, JSON.stringify(record, null, 1));
      if (!diskExists && vm.persistentDisk) revert.add('remove the new disk', () => rm(disk, { force: true }));
      await Promise.all([mkdir(dirname(spec.logPath), { recursive: true }), diskExists ? Promise.resolve() : createOverlay(this.qemuImgPath, spec.id, vm.baseDisk, disk, vm.diskSizeBytes)]);

      revert.add('remove cgroup', () => removeCgroup(cgroupsPath));
      const procs = await createVmCgroup(spec.id, cgroupsPath, { memoryBytes: vm.memoryBytes + QEMU_OVERHEAD_BYTES[this.accelerator], cpus: vm.cpus, pids: QEMU_PIDS });
      if (spec.ready) await spec.ready;

      // Registered before the launch: a QEMU that daemonized but then timed out or failed a check must not be left running.
      revert.add('kill QEMU', () => this.killQemu(spec.id, p));
      const pid = await launchQemu({ id: spec.id, qemuPath: this.qemuPath, args, cgroupProcs: procs, pidFile: p.qemuPidFile, timeoutMs: this.opts.createTimeoutMs ?? 30_000 });
      await writeFile(p.pid, String(pid));
      revert.success();
      this.log.info('vm created', { id: spec.id, pid, accelerator: this.accelerator, cgroupsPath, ms: Math.round(performance.now() - started) });
    } catch (e) {
      throw new Error(`create vm ${spec.id}: ${(e as Error).message}`);
    } finally {
      await revert.fail();
    }
  }

  async start(id: string): Promise<void> {
    const p = await this.existing(id);
    if (!(await qemuAlive(id, p))) throw new Error(`start vm ${id}: QEMU is not running (${(await this.exitOf(id, p)).reason}); a stopped VM is deleted and created again`);
    const record = await this.readRecord(p);
    await this.withQmp(id, p, 'start', async (qmp) => {
      const { status } = await qmp.execute<{ status: string }>('query-status');
      // Already started: running, or paused by pause() (start does not resume).
      if (status !== 'prelaunch' && (await exists(p.startedAt))) return;
      if (status === 'inmigrate' && record?.incomingState) await this.loadState(id, p, qmp, record);
      else if (status !== 'prelaunch' && status !== 'paused') throw new Error(`QEMU status is ${status}`);
      await qmp.execute('cont');
      await writeFile(p.startedAt, new Date().toISOString());
    });
  }

  /**
   * Feed a QEMU waiting with -incoming defer its state file and wait until it
   * has loaded it (the guest is then paused, as -S leaves it). QEMU 7.2 exits
   * when a load fails, with the reason only in its -D log.
   */
  private async loadState(id: string, p: VmPaths, qmp: QmpClient, record: VmRecord): Promise<void> {
    const file = record.incomingState as string;
    const started = performance.now();
    const timeoutMs = MIGRATION_BASE_MS + Math.ceil(record.memoryBytes / MIGRATION_MIN_BYTES_PER_MS);
    try {
      await checkStateFile(file);
      await qmp.execute('migrate-incoming', { uri: loadUri(file) });
      await waitMigration(qmp, timeoutMs, `load state from ${file}`);
    } catch (e) {
      // QEMU 7.2 exits when a load fails: give it a moment to write its reason down, which is the part worth reporting.
      const gone = await waitQemuGone(id, p, 1000);
      const why = await qemuLogTail(p.qemuLog);
      const what = gone ? 'QEMU exited' : (e as Error).message;
      throw new Error(`load state from ${file}: ${what}${why ? `; QEMU says: ${why}` : ''}`);
    }
    this.log.info('vm state loaded', { id, file, ms: Math.round(performance.now() - started) });
  }

  async stop(id: string, timeoutMs: number): Promise<void> {
    const p = await this.existing(id);
    if (!(await qemuAlive(id, p))) {
      await this.exitOf(id, p);
      return;
    }
    const deadline = Date.now() + timeoutMs;
    let reason = 'guest powered off (ACPI power button)';
    let exitCode = 0;
    const graceful = await this.withQmp(id, p, 'stop', async (qmp) => {
      const { status } = await qmp.execute<{ status: string }>('query-status');
      // Never started, crashed or failed: no guest to ask, just end QEMU.
      if (status === 'prelaunch' || !(await exists(p.startedAt)) || mapQemuStatus(status, true).failed) return false;
      // A paused guest cannot handle the button.
      if (status === 'paused' || status === 'suspended') await qmp.execute(status === 'suspended' ? 'system_wakeup' : 'cont');
      await qmp.execute('system_powerdown');
      return true;
    }).catch((e: Error) => {
      // QEMU exiting on its own meanwhile is not an error.
      this.log.warn('powerdown failed; ending QEMU', { id, error: e.message });
      return false;
    });
    let gone = false;
    if (graceful) {
      gone = await waitFor(async () => !(await qemuAlive(id, p)), Math.min(POWERDOWN_REPEAT_MS, Math.max(0, deadline - Date.now())));
      while (!gone && Date.now() < deadline) {
        await this.withQmp(id, p, 'stop', (qmp) => qmp.execute('system_powerdown')).catch(() => undefined);
        gone = await waitFor(async () => !(await qemuAlive(id, p)), Math.min(POWERDOWN_REPEAT_MS, Math.max(0, deadline - Date.now())));
      }
      if (!gone) this.log.info('grace period over; ending QEMU', { id, timeoutMs });
    }
    if (!gone) {
      reason = graceful ? `guest did not power off within ${timeoutMs} ms; QEMU quit` : 'QEMU quit (guest not running)';
      // quit lets QEMU flush the overlay's metadata; SIGKILL only when it does not answer.
      await this.withQmp(id, p, 'stop', (qmp) => qmp.execute('quit')).catch(() => undefined);
      gone = await waitQemuGone(id, p, QUIT_WAIT_MS);
    }
    if (!gone) {
      reason = `QEMU did not quit; killed by SIGKILL`;
      exitCode = 137;
      await this.killQemu(id, p);
    }
    await recordExit(p, { exitCode, finishedAt: new Date().toISOString(), reason });
    this.log.info('vm stopped', { id, reason });
  }

  async kill(id: string, signal: NodeJS.Signals): Promise<void> {
    const p = await this.existing(id);
    await writeFile(p.killSignal, signal);
    await signalQemu(id, p, signal);
  }

  async pause(id: string): Promise<void> {
    const p = await this.existing(id);
    const st = await this.state(id);
    if (st.status === 'paused') return;
    if (st.status !== 'running') throw new Error(`pause vm ${id}: it is ${st.status}, not running`);
    await this.withQmp(id, p, 'pause', (qmp) => qmp.execute('stop'));
  }

  async resume(id: string): Promise<void> {
    const p = await this.existing(id);
    const st = await this.state(id);
    if (st.status === 'paused') await this.withQmp(id, p, 'resume', (qmp) => qmp.execute('cont'));
  }

  /**
   * An external snapshot of the root disk while the guest runs (or is
   * paused): QEMU creates `newTop`, a qcow2 overlay whose backing file is the
   * current top, and the guest writes there from now on; the old top is
   * read-only from here and is the snapshot. With freeze (the default) the
   * guest's filesystems are frozen through its agent around the switch, so
   * the old top holds a clean filesystem; without an agent answering (or
   * with a paused guest, which cannot answer) it goes on crash-consistent and
   * says so with frozen: false. `newTop` must not exist.
   */
  async snapshotDisk(id: string, newTop: string, opts: SnapshotDiskOptions = {}): Promise<{ frozen: boolean }> {
    const op = 'snapshot disk';
    const p = await this.existing(id);
    const top = resolve(newTop);
    if (!(await qemuAlive(id, p))) throw new Error(`${op} vm ${id}: QEMU is not running`);
    // QEMU would truncate an existing file, which may be someone's layer.
    if (await exists(top)) throw new Error(`${op} vm ${id}: ${top} already exists`);
    const started = performance.now();
    let frozen: Frozen | undefined;
    if (opts.freeze ?? true) {
      const status = await this.withQmp(id, p, op, (qmp) => qmp.execute<{ status: string }>('query-status')).then((s) => s.status);
      if (status === 'running' && (await exists(p.guestAgentSocket))) {
        frozen = await freezeGuest(this.guestAgents, p.guestAgentSocket, { syncTimeoutMs: FREEZE_SYNC_TIMEOUT_MS, freezeTimeoutMs: FREEZE_TIMEOUT_MS, thawTimeoutMs: THAW_TIMEOUT_MS });
        if (!frozen.count) this.log.info('snapshot without freeze (crash-consistent)', { id, reason: frozen.reason });
      } else this.log.info('snapshot without freeze (crash-consistent)', { id, reason: `QEMU status ${status}, guest agent ${(await exists(p.guestAgentSocket)) ? 'present' : 'absent'}` });
    }
    const frozenMs = Math.round(performance.now() - started);
    try {
      await this.withQmp(id, p, op, (qmp) => blockdevSnapshot(qmp, top));
    } finally {
      await frozen?.thaw((e) => this.log.error('guest filesystems may still be frozen: thaw failed', { id, op, error: e.message }));
    }
    this.log.info('disk snapshot taken', { id, newTop: top, frozen: !!frozen?.count, freezeMs: frozenMs, ms: Math.round(performance.now() - started) });
    return { frozen: !!frozen?.count };
  }

  /** The files of the root disk's backing chain as the running QEMU has them open, top first: what must not be deleted or written while it runs. */
  async diskChain(id: string): Promise<string[]> {
    const p = await this.existing(id);
    if (!(await qemuAlive(id, p))) throw new Error(`disk chain vm ${id}: QEMU is not running`);
    return this.withQmp(id, p, 'disk chain', (qmp) => blockChain(qmp));
  }

  /**
   * Save the guest's memory and device state to `file` (made or replaced),
   * as it is at one moment: the vCPUs are stopped (QEMU drains and flushes
   * the disks then), beforeSave runs so the caller can snapshot the disk at
   * that same moment, the state is written by QEMU's migration, and the
   * guest runs on if it ran before (a paused one stays paused). ms is how
   * long the vCPUs were stopped. QMP is not held during beforeSave.
   * A guest that was paused is left in QEMU's postmigrate state, its disks
   * handed off as at the end of any migration: resume() (cont) takes them
   * back; until then QEMU refuses disk operations (snapshotDisk, streamDisk).
   */
  async saveState(id: string, file: string, opts: SaveStateOptions = {}): Promise<{ ms: number; bytes: number }> {
    const op = 'save state';
    const p = await this.existing(id);
    const target = resolve(file);
    if (!(await qemuAlive(id, p))) throw new Error(`${op} vm ${id}: QEMU is not running`);
    const record = (await this.readRecord(p)) as VmRecord;
    const timeoutMs = opts.timeoutMs ?? MIGRATION_BASE_MS + Math.ceil(record.memoryBytes / MIGRATION_MIN_BYTES_PER_MS);
    let stoppedAt = 0;
    const wasRunning = await this.withQmp(id, p, op, async (qmp) => {
      const { status } = await qmp.execute<{ status: string }>('query-status');
      if (status !== 'running' && status !== 'paused') throw new Error(`QEMU status is ${status}, not running or paused`);
      await tuneForLocalSave(qmp);
      stoppedAt = performance.now();
      if (status === 'running') await qmp.execute('stop');
      return status === 'running';
    });
    let saved = false;
    try {
      if (opts.beforeSave) {
        try {
          await opts.beforeSave();
        } catch (e) {
          throw new Error(`${op} vm ${id}: beforeSave: ${(e as Error).message}`);
        }
      }
      await this.withQmp(id, p, op, async (qmp) => {
        await qmp.execute('migrate', { uri: saveUri(target) });
        try {
          await waitMigration(qmp, timeoutMs, `state to ${target}`);
        } catch (e) {
          await qmp.execute('migrate_cancel').catch(() => undefined);
          throw e;
        }
        saved = true;
        // postmigrate → running; QEMU takes its disks back (they were handed off at the end of the migration).
        if (wasRunning) await qmp.execute('cont');
      });
    } finally {
      // Whatever failed, a guest that ran before runs on.
      if (!saved && wasRunning) await this.withQmp(id, p, op, (qmp) => qmp.execute('cont')).catch((e: Error) => this.log.error('cannot resume the guest after a failed save', { id, op, error: e.message }));
    }
    const ms = Math.round(performance.now() - stoppedAt);
    let bytes: number;
    try {
      bytes = await syncFile(target);
    } catch (e) {
      throw new Error(`${op} vm ${id}: ${target}: ${(e as Error).message}`);
    }
    this.log.info('vm state saved', { id, file: target, ms, bytes });
    return { ms, bytes };
  }

  /**
   * Pull the data of the root disk's layers above `base` into its top (QMP
   * block-stream), while the guest runs; the top then backs onto `base`, or
   * on nothing when base is null (the disk no longer needs any other file).
   * Resolves when the job has completed; a failed or cancelled job rejects
   * with QEMU's reason.
   */
  async streamDisk(id: string, base: string | null, opts: StreamDiskOptions = {}): Promise<void> {
    const op = 'stream disk';
    const p = await this.existing(id);
    if (!(await qemuAlive(id, p))) throw new Error(`${op} vm ${id}: QEMU is not running`);
    const started = performance.now();
    const baseFile = base === null ? null : resolve(base);
    // The connection is held for the whole job: its end is an event on it. state() meanwhile falls back to the process.
    await this.withQmp(id, p, op, async (qmp) => {
      const chain = await blockChain(qmp);
      if (baseFile !== null && !chain.slice(1).includes(baseFile)) throw new Error(`${baseFile} is not below the top of the root disk's chain (${chain.join(' <- ')})`);
      const timeoutMs = opts.timeoutMs ?? STREAM_BASE_MS + Math.ceil((await rootVirtualSize(qmp)) / STREAM_MIN_BYTES_PER_MS);
      await blockStream(qmp, baseFile, timeoutMs);
    });
    this.log.info('disk streamed', { id, base: baseFile, ms: Math.round(performance.now() - started) });
  }

  async delete(id: string): Promise<void> {
    validateId(id);
    const p = this.layout.of(id);
    const record = await this.readRecord(p);
    try {
      // No grace: delete is for what is already stopped or is to go now.
      await this.killQemu(id, p);
      if (record) await removeCgroup(record.cgroupsPath);
      await rm(p.dir, { recursive: true, force: true });
    } catch (e) {
      throw new Error(`delete vm ${id}: ${(e as Error).message}`);
    }
    if (record) this.log.info('vm deleted', { id });
  }

  async state(id: string): Promise<WorkloadState> {
    const p = await this.existing(id);
    const startedAt = (await readText(p.startedAt))?.trim() || undefined;
    const pid = await readPid(p.pid);
    const base: WorkloadState = { id, status: 'unknown', ...(startedAt ? { startedAt } : {}) };
    // No pid: a create that died before QEMU ran. The agent deletes it.
    if (!pid) return base;
    if (await qemuAlive(id, p)) {
      const status = await this.withQmp(id, p, 'state', (qmp) => qmp.execute<{ status: string }>('query-status'), 2000).then(
        (s) => s.status,
        () => undefined,
      );
      // QMP busy (another client) or QEMU exiting right now: the process says enough.
      if (status === undefined) {
        if (await qemuAlive(id, p)) return { ...base, status: startedAt ? 'running' : 'created', pid };
      } else {
        const m = mapQemuStatus(status, !!startedAt);
        if (!m.failed) return { ...base, status: m.status, pid };
        // Panicked or failed: QEMU holds the guest for inspection, but the workload has ended.
        const exit = await recordExit(p, { exitCode: 1, finishedAt: new Date().toISOString(), reason: `guest ${status}` });
        return { ...base, status: 'stopped', pid, exitCode: exit.exitCode, finishedAt: exit.finishedAt };
      }
    }
    const exit = await this.exitOf(id, p);
    const out: WorkloadState = { ...base, status: 'stopped', exitCode: exit.exitCode, finishedAt: exit.finishedAt };
    if (exit.reason.includes('OOM')) out.oomKilled = true;
    return out;
  }

  async stats(id: string): Promise<WorkloadStats> {
    const p = await this.existing(id);
    const record = (await this.readRecord(p)) as VmRecord;
    return readCgroupStats(record.cgroupsPath);
  }

  async list(): Promise<WorkloadState[]> {
    return listWorkloads(this.layout.vmsDir, { valid: isValidId(validateId), state: (id) => this.state(id), log: this.log, what: 'vm' });
  }

  /**
   * Run a process in the guest through its guest agent (qemu-ga on the
   * virtio-serial port qemu-args.ts adds; guest-agent/). Output comes at the
   * end, not as it is written; a terminal is the serial console's job. A
   * guest still booting gets guestAgentTimeoutMs to answer.
   */
  async exec(id: string, opts: ExecOptions): Promise<ExecProcess> {
    const p = await this.existing(id);
    if (opts.tty) throw new ExecFailedError(id, 'a terminal in a VM: use lodge console (the guest agent runs commands without one)');
    if (!(await qemuAlive(id, p))) throw new ExecFailedError(id, 'the VM is not running');
    if (!(await exists(p.guestAgentSocket))) throw new ExecFailedError(id, 'this VM has no guest agent channel (it was created by an older Lodge); restart it');
    const timeoutMs = this.opts.guestAgentTimeoutMs ?? GUEST_AGENT_TIMEOUT_MS;
    let lease: GuestAgentLease;
    try {
      lease = await this.guestAgents.acquire(p.guestAgentSocket, { timeoutMs });
    } catch (e) {
      if (!(e instanceof GuestAgentUnavailableError)) throw new ExecFailedError(id, (e as Error).message);
      // A paused guest cannot answer, however long we wait: say so rather than blame the boot.
      const st = await this.state(id).catch(() => undefined);
      if (st?.status === 'paused') throw new ExecFailedError(id, 'the VM is paused: resume it first');
      throw new ExecFailedError(id, `the guest agent is not answering (is the guest booted?): no answer within ${timeoutMs} ms`);
    }
    return guestExec(lease, { id, args: opts.args, env: opts.env, cwd: opts.cwd, stdin: !!opts.stdin }, this.log);
  }

  /**
   * The serial console (the guest's ttyS0), as a stream. QEMU serves one
   * console client at a time; a second waits until the first disconnects.
   * The guest's output is in the log (logPath) whether or not anyone is attached.
   */
  async console(id: string): Promise<Duplex> {
    const p = await this.existing(id);
    if (!(await qemuAlive(id, p))) throw new Error(`console vm ${id}: QEMU is not running`);
    return new Promise((resolve, reject) => {
      const sock = connect(p.consoleSocket);
      sock.once('connect', () => {
        sock.off('error', reject);
        resolve(sock);
      });
      sock.once('error', (e) => reject(new Error(`console vm ${id}: ${e.message}`)));
    });
  }

  /** What `lodge info` shows beyond state(): the accelerator, QEMU's status and pid, its command line, sockets and disk. */
  async info(id: string): Promise<{ accelerator: Accelerator; machine: string; qemuStatus?: string; pid?: number; argv: string[]; qmpSocket: string; consoleSocket: string; overlay: string; exit?: VmExit }> {
    const p = await this.existing(id);
    const record = (await this.readRecord(p)) as VmRecord;
    const alive = await qemuAlive(id, p);
    const qemuStatus = alive ? await this.withQmp(id, p, 'info', (qmp) => qmp.execute<{ status: string }>('query-status'), 2000).then((s) => s.status, () => undefined) : undefined;
    return {
      accelerator: record.accelerator,
      machine: record.machine,
      qemuStatus,
      pid: alive ? await readPid(p.pid) : undefined,
      argv: record.argv,
      qmpSocket: p.qmpSocket,
      consoleSocket: p.consoleSocket,
      overlay: p.overlay,
      exit: await readExit(p),
    };
  }

  /** The exit record, inferred and written down when this is the first look since QEMU went away. */
  private async exitOf(id: string, p: VmPaths): Promise<VmExit> {
    const known = await readExit(p);
    if (known) return known;
    const record = await this.readRecord(p);
    const ooms = record ? ((await oomKills(record.cgroupsPath)) ?? 0) : 0;
    const exit = await recordExit(p, await inferExit(p, ooms > 0));
    this.log.info('vm exit recorded', { id, ...exit });
    return exit;
  }

  private async withQmp<T>(id: string, p: VmPaths, op: string, fn: (qmp: QmpClient) => Promise<T>, timeoutMs = QMP_TIMEOUT_MS): Promise<T> {
    let qmp: QmpClient | undefined;
    try {
      qmp = await QmpClient.connect(p.qmpSocket, { timeoutMs });
      return await fn(qmp);
    } catch (e) {
      throw new Error(`${op} vm ${id}: ${(e as Error).message}`);
    } finally {
      qmp?.close();
    }
  }

  /** SIGKILL our QEMU (if it runs) and wait until it is gone. */
  private async killQemu(id: string, p: VmPaths): Promise<void> {
    if (!(await qemuAlive(id, p))) return;
    await writeFile(p.killSignal, 'SIGKILL').catch(() => undefined);
    await signalQemu(id, p, 'SIGKILL');
    if (!(await waitQemuGone(id, p, KILL_WAIT_MS))) throw new Error(`vm ${id}: QEMU still running ${KILL_WAIT_MS} ms after SIGKILL`);
  }

  /** The paths of a VM that exists (has its record), else WorkloadNotFoundError. */
  private async existing(id: string): Promise<VmPaths> {
    validateId(id);
    const p = this.layout.of(id);
    if (!(await exists(p.record))) throw new WorkloadNotFoundError(id);
    return p;
  }

  private readRecord(p: VmPaths): Promise<VmRecord | undefined> {
    return readStateRecord<VmRecord>(p.record, 'vm');
  }
}
