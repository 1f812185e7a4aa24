// The container side of InstanceDriver: runc under conmon, an overlayfs root
// per container, explicit cgroups. The driver keeps no state in memory —
// everything is in <root>/containers/<id>/ and in runc's state dir — so a
// new driver (after the agent was SIGKILLed) sees and controls exactly what
// the old one left running. Operations on one id are expected to be
// serialized by the caller (the agent's per-workload queue).
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { Duplex } from 'node:stream';
import { createLogger, type Logger } from '../../../util/log.js';
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
  type WorkloadStatus,
} from '../../runtime/driver.js';
import { isFrozen, normalizeCgroupsPath, oomKills, processInCgroup, readCgroupStats, removeCgroup } from './cgroups.js';
import { findExecutable } from './command.js';
import { spawnConmon } from './conmon.js';
import { checkCriu, criuLogTail, findCriu, type CriuAvailability } from './criu.js';
import { resizeTerminal } from './console.js';
import { attachConsole, attachContainer } from './attach.js';
import { startExec } from './exec.js';
import { probeHost } from './host.js';
import { Layout, validateId, type ContainerPaths, type ContainerRecord } from './layout.js';
import { isMountPoint } from './mountinfo.js';
import { buildOciSpec, type SpecHost } from './oci-spec.js';
import { mountOverlay, unmountOverlay } from './overlay.js';
import { exists, mtimeIso, processMatches, readPid, readText, waitFor } from './proc.js';
import { isValidId, listWorkloads } from '../../runtime/list-workloads.js';
import { readStateRecord } from '../../runtime/state-record.js';
import { Reverter } from './reverter.js';
import { Runc } from './runc.js';

export interface ContainerDriverOptions {
  /** State root: containers/<id>/ (bundle, overlay upper/work, conmon's files), exits/, s/ (attach sockets). */
  root: string;
  /** runc's state dir; a tmpfs on real hosts. Default /run/lodge/runc. */
  runcRoot?: string;
  /** Found on PATH (and /usr/sbin, /usr/bin) when not given. */
  runcPath?: string;
  conmonPath?: string;
  /** The criu runc runs for checkpoint/restore; default the one scripts/criu.mjs builds, else criu on PATH (see criu.ts). */
  criuPath?: string;
  logger?: Logger;
  /** How long conmon may take to get a container created. */
  createTimeoutMs?: number;
}

// A monitor finishing up after its container died (draining stdio, writing
// the exit file) takes milliseconds; after this long it is stuck.
const CONMON_EXIT_GRACE_MS = 2000;
const KILL_WAIT_MS = 10_000;

export class ContainerDriver implements InstanceDriver {
  readonly kind = 'container' as const;
  private readonly layout: Layout;
  /** util-linux script, which tty exec needs (see exec.ts); optional, as only tty sessions need it. */
  private scriptPath: string | undefined;
  /** socat, the bridge to conmon's SOCK_SEQPACKET attach socket (see console.ts); optional, as only consoles need it. */
  private socatPath: string | undefined;
  /** `criu check` runs once per driver: the kernel and the binary do not change under a running agent. */
  private criuCheck: Promise<CriuAvailability> | undefined;

  private constructor(
    private readonly runc: Runc,
    private readonly conmonPath: string,
    private readonly host: SpecHost,
    private readonly log: Logger,
    private readonly opts: ContainerDriverOptions,
  ) {
    this.layout = new Layout(opts.root);
  }

  /** Find runc and conmon, look at the host's cgroups, make the state dirs. */
  static async open(opts: ContainerDriverOptions): Promise<ContainerDriver> {
    const runcPath = opts.runcPath ?? (await findExecutable('runc'));
    const conmonPath = opts.conmonPath ?? (await findExecutable('conmon'));
    const missing = [!runcPath && 'runc', !conmonPath && 'conmon'].filter(Boolean);
    if (missing.length) throw new Error(`container driver: ${missing.join(' and ')} not found on PATH or in /usr/sbin, /usr/bin; install the Debian packages (node scripts/setup.mjs)`);
    const layout = new Layout(opts.root);
    const runcRoot = opts.runcRoot ?? '/run/lodge/runc';
    for (const dir of [layout.containersDir, layout.exitsDir, layout.socketsDir, runcRoot]) await mkdir(dir, { recursive: true });
    const log = (opts.logger ?? createLogger()).child({ component: 'container-driver' });
    const criuPath = await findCriu(opts.criuPath);
    const driver = new ContainerDriver(new Runc(runcPath as string, runcRoot, criuPath), conmonPath as string, await probeHost(), log, opts);
    driver.scriptPath = await findExecutable('script');
    driver.socatPath = await findExecutable('socat');
    return driver;
  }

  get runcPath(): string {
    return this.runc.path;
  }
  get runcRoot(): string {
    return this.runc.root;
  }

  /**
   * Whether checkpoint() and a create() with restoreFrom can work here: a
   * criu binary that passes `criu check` on this kernel. Callers turn a
   * `false` into "stateful container snapshots need CRIU: <reason>".
   */
  criuAvailable(): Promise<CriuAvailability> {
    this.criuCheck ??= checkCriu(this.runc.criuPath);
    return this.criuCheck;
  }

  /**
   * Dump a running (or paused) container's processes into imageDir with
   * CRIU through `runc checkpoint`. With leaveRunning the container goes on
   * (a consistent snapshot of a live server); without it runc kills the
   * container and forgets it, conmon records its exit, and the caller
   * deletes it and creates it again with restoreFrom. The root filesystem
   * is not in the images: a restore needs the same upper dir mounted again
   * (a system container's persistent one).
   */
  async checkpoint(id: string, imageDir: string, opts: { leaveRunning: boolean }): Promise<void> {
    const p = await this.existing(id);
    const criu = await this.criuAvailable();
    if (!criu.ok) throw new Error(`checkpoint container ${id}: stateful container snapshots need CRIU: ${criu.reason}`);
    const st = await this.runc.state(id);
    if (st?.status !== 'running' && st?.status !== 'paused') throw new Error(`checkpoint container ${id}: it is ${st?.status ?? 'not known to runc'}, not running`);
    await mkdir(imageDir, { recursive: true });
    const started = performance.now();
    try {
      // CRIU's dump.log goes with the images, where whoever looks at a failed or odd checkpoint looks first.
      await this.runc.checkpoint(id, imageDir, { leaveRunning: opts.leaveRunning, workDir: imageDir });
    } catch (e) {
      throw new Error(`checkpoint container ${id} into ${imageDir}: ${(e as Error).message}; ${await criuLogTail(imageDir, 'dump.log')}`);
    }
    // runc has killed the container (CRIU's dump ends in SIGKILL) and removed its state; let conmon write the exit down so state() agrees.
    if (!opts.leaveRunning && !(await this.waitExited(id, p, KILL_WAIT_MS))) this.log.warn('container still not recorded as exited after its checkpoint', { id });
    this.log.info('container checkpointed', { id, imageDir, leaveRunning: opts.leaveRunning, ms: Math.round(performance.now() - started) });
  }

  async create(spec: WorkloadSpec): Promise<void> {
    validateId(spec.id);
    if (spec.restoreFrom) await this.checkRestorable(spec.id, spec.restoreFrom);
    const cgroupsPath = normalizeCgroupsPath(spec.cgroupsPath);
    const p = this.layout.of(spec.id);
    // conmon binds <socketsDir>/<cuuid>/attach and exits if that does not fit a sockaddr_un.
    if (Buffer.byteLength(p.attachSocket) > 107) throw new Error(`container ${spec.id}: driver root ${this.opts.root} is too long for conmon's attach socket (${p.attachSocket})`);
    const config = buildOciSpec(spec, cgroupsPath, this.host);
    try {
      await mkdir(p.dir);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EEXIST') throw new WorkloadExistsError(spec.id);
      throw new Error(`container ${spec.id}: cannot make its state dir: ${(e as Error).message}`);
    }
    const started = performance.now();
    const revert = new Reverter(this.log.child({ id: spec.id, op: 'create' }));
    try {
      revert.add('remove state dir', () => this.removeStateDir(p));
      const record: ContainerRecord = { id: spec.id, node: spec.node, cgroupsPath, logPath: spec.logPath, createdAt: new Date().toISOString(), ...(spec.terminal ? { terminal: true } : {}), ...(spec.stdin ? { stdin: true } : {}), ...(spec.stopSignal && spec.stopSignal !== 'SIGTERM' ? { stopSignal: spec.stopSignal } : {}), ...(spec.restoreFrom ? { restoredFrom: spec.restoreFrom } : {}) };
      // A caller's persistent upper layer (a system container's) lives outside the state dir, so delete keeps it.
      const upper = spec.rootfs.upperDir ?? p.upper;
      const work = spec.rootfs.workDir ?? p.work;
      await Promise.all([
        writeFile(p.record, JSON.stringify(record)),
        mkdir(upper, { recursive: true }),
        mkdir(work, { recursive: true }),
        mkdir(p.rootfs),
        mkdir(dirname(spec.logPath), { recursive: true }),
      ]);

      // conmon starts up (and opens the log) while the root is mounted; it
      // runs runc only once released.
      const conmon = spawnConmon({
        conmonPath: this.conmonPath,
        runcPath: this.runc.path,
        runcRoot: this.runc.root,
        criuPath: this.runc.criuPath,
        id: spec.id,
        cuuid: p.cuuid,
        bundle: p.bundle,
        stateDir: p.dir,
        exitDir: this.layout.exitsDir,
        socketDir: this.layout.socketsDir,
        logPath: spec.logPath,
        containerPidFile: p.containerPid,
        conmonPidFile: p.conmonPid,
        timeoutMs: this.opts.createTimeoutMs ?? 30_000,
        terminal: spec.terminal,
        ...(spec.stdin ? { stdin: { once: spec.stdinOnce === true } } : {}),
        ...(spec.restoreFrom ? { restore: { imageDir: spec.restoreFrom } } : {}),
      });
      revert.add('abort monitor', () => conmon.abort());

      const mountAt = performance.now();
      const results = await Promise.allSettled([
        mountOverlay({ lowerDirs: spec.rootfs.lowerDirs, upperDir: upper, workDir: work, target: p.rootfs }),
        writeFile(p.configJson, JSON.stringify(config)),
      ]);
      // Whatever else failed, a mount that happened must be undone.
      if (results[0].status === 'fulfilled') revert.add('unmount root', () => this.unmountRoot(spec.id, p));
      for (const r of results) if (r.status === 'rejected') throw r.reason;
      const mountMs = performance.now() - mountAt;

      // Registered before the release: a launch that fails or times out can
      // still leave a runc container, a monitor or cgroups behind.
      revert.add('remove runc container, monitor and cgroups', async () => {
        await this.runc.forceDelete(spec.id);
        await this.stopMonitor(spec.id, p);
        await removeCgroup(cgroupsPath);
      });
      if (spec.ready) await spec.ready;
      const conmonAt = performance.now();
      await conmon.proceed();
      // A restored container runs from here on: start() has nothing left to do, and state() must say running.
      if (spec.restoreFrom) await writeFile(p.startedAt, new Date().toISOString());
      revert.success();
      const ms = (x: number): number => Math.round(x * 10) / 10;
      this.log.info('container created', { id: spec.id, cgroupsPath, ms: ms(performance.now() - started), mountMs: ms(mountMs), conmonMs: ms(performance.now() - conmonAt) });
    } catch (e) {
      // Read before the revert removes the bundle, where conmon has runc restore put CRIU's log.
      // (The revert then removes the file, so its lines are quoted here.)
      const criuLog = spec.restoreFrom ? `; ${await criuLogTail(p.dir, 'restore.log')}` : '';
      throw new Error(`${spec.restoreFrom ? `restore container ${spec.id} from ${spec.restoreFrom}` : `create container ${spec.id}`}: ${(e as Error).message}${criuLog}`);
    } finally {
      await revert.fail();
    }
  }

  async start(id: string): Promise<void> {
    const p = await this.existing(id);
    const record = await this.readRecord(p);
    // Restored: already running since create(); only a container that died meanwhile goes on to runc's error.
    if (record?.restoredFrom) {
      const st = await this.liveState(id, p, record);
      if (st?.status === 'running' || st?.status === 'paused') return;
    }
    const at = new Date().toISOString();
    try {
      // Straight to `runc start`: asking runc's state first would cost one more runc run on every start.
      await this.runc.start(id);
    } catch (e) {
      const st = await this.runc.state(id);
      if (st?.status === 'running' || st?.status === 'paused') return;
      const hint = !st ? '; runc has no such container (was the host rebooted?): delete and create it again' : st.status === 'stopped' ? '; it has stopped: a stopped container is deleted and created again' : '';
      throw new Error(`start container ${id}: ${(e as Error).message}${hint}`);
    }
    await writeFile(p.startedAt, at);
  }

  async stop(id: string, timeoutMs: number): Promise<void> {
    const p = await this.existing(id);
    const st = await this.runc.state(id);
    if (st && st.status !== 'stopped') {
      if (st.status === 'paused') await this.runc.resume(id); // a frozen task takes no signal
      // A created container's init is runc's, waiting to exec: nothing to stop gracefully.
      if (st.status !== 'created') {
        const signal = (await this.readRecord(p))?.stopSignal ?? 'SIGTERM';
        await this.runc.kill(id, signal);
        if (await this.waitExited(id, p, timeoutMs)) return;
        this.log.info('grace period over; killing', { id, timeoutMs });
      }
      await this.runc.kill(id, 'SIGKILL');
    }
    if (!(await this.waitExited(id, p, KILL_WAIT_MS))) throw new Error(`stop container ${id}: still running ${KILL_WAIT_MS} ms after SIGKILL`);
  }

  async pause(id: string): Promise<void> {
    await this.existing(id);
    const st = await this.runc.state(id);
    if (st?.status === 'paused') return;
    if (st?.status !== 'running') throw new Error(`pause container ${id}: it is ${st?.status ?? 'not known to runc'}, not running`);
    await this.runc.pause(id);
  }

  async resume(id: string): Promise<void> {
    await this.existing(id);
    const st = await this.runc.state(id);
    if (st?.status === 'paused') await this.runc.resume(id);
  }

  async kill(id: string, signal: NodeJS.Signals): Promise<void> {
    await this.existing(id);
    await this.runc.kill(id, signal);
  }

  async delete(id: string): Promise<void> {
    validateId(id);
    const p = this.layout.of(id);
    const record = await this.readRecord(p);
    try {
      const st = await this.runc.state(id);
      if (st && st.status !== 'stopped') {
        // Kill and wait ourselves: `runc delete --force` on a live container
        // sleeps 100 ms before its first look, which would dominate a delete.
        if (st.status === 'paused') await this.runc.resume(id);
        await this.runc.kill(id, 'SIGKILL');
        await this.waitExited(id, p, KILL_WAIT_MS);
      }
      // Removes runc's state and the cgroups runc knows (and kills anything left).
      if (st) await this.runc.forceDelete(id);
      await this.stopMonitor(id, p);
      await this.unmountRoot(id, p);
      // runc removes only the hierarchies it joined; a container may have made sub-cgroups, and a half-done create may have left some.
      if (record) await removeCgroup(record.cgroupsPath);
      await rm(p.exitInDir, { force: true });
      await rm(p.socketLink, { force: true });
      await this.removeStateDir(p);
    } catch (e) {
      throw new Error(`delete container ${id}: ${(e as Error).message}`);
    }
    if (record) this.log.info('container deleted', { id });
  }

  async state(id: string): Promise<WorkloadState> {
    const p = await this.existing(id);
    const record = (await this.readRecord(p)) as ContainerRecord;
    const quick = await this.liveState(id, p, record);
    if (quick) return quick;
    const st = await this.runc.state(id);
    let status: WorkloadStatus;
    if (st && (st.status === 'created' || st.status === 'running' || st.status === 'paused')) status = st.status;
    else if (st?.status === 'stopped') status = 'stopped';
    // runc does not know it: gone with a reboot (runc's root is a tmpfs) or never created.
    else status = (await exists(p.exit)) ? 'stopped' : 'unknown';

    const out: WorkloadState = { id, status };
    if (st && status !== 'stopped' && st.pid > 0) out.pid = st.pid;
    const startedAt = (await readText(p.startedAt))?.trim();
    if (startedAt) out.startedAt = startedAt;
    if (status === 'stopped') {
      // runc notices the exit before conmon has written it down: give the monitor a moment.
      if (!(await exists(p.exit)) && (await this.monitorAlive(id, p))) await waitFor(() => exists(p.exit), CONMON_EXIT_GRACE_MS);
      const code = Number((await readText(p.exit))?.trim());
      if (Number.isInteger(code) && code >= 0) {
        out.exitCode = code;
        // The exit file's mtime comes from the kernel's coarse clock (a tick behind Date.now()): a process that exits
        // at once can look finished before it started. It cannot have: never report it so.
        const finished = await mtimeIso(p.exit);
        out.finishedAt = startedAt && finished && finished < startedAt ? startedAt : finished;
      }
      // The kernel's count is authoritative; conmon's marker also catches an
      // OOM event whose cgroup is gone. Either means the OOM killer acted here.
      out.oomKilled = (await exists(p.oom)) || ((await oomKills(record.cgroupsPath)) ?? 0) > 0;
    }
    return out;
  }

  /**
   * The state of a live container from its files alone, without running runc
   * (a runc process costs milliseconds, and the agent asks after every start
   * and on every resync): conmon's container pid, alive and still in the
   * container's cgroup, is running once start() has recorded startedAt,
   * created before, paused when frozen. Anything else (exited, never
   * created, a pid reused) goes to runc.
   */
  private async liveState(id: string, p: ContainerPaths, record: ContainerRecord): Promise<WorkloadState | undefined> {
    if (await exists(p.exit)) return undefined;
    const pid = await readPid(p.containerPid);
    if (!pid || !(await processInCgroup(pid, record.cgroupsPath))) return undefined;
    const startedAt = (await readText(p.startedAt))?.trim();
    // Exited (a zombie until conmon reaps it) or gone meanwhile: let runc and the exit file say how.
    const stat = await readText(`/proc/${pid}/stat`).catch(() => undefined);
    const procState = stat?.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    if (!procState || procState === 'Z' || procState === 'X') return undefined;
    if (!startedAt) return { id, status: 'created', pid };
    return { id, status: (await isFrozen(record.cgroupsPath)) ? 'paused' : 'running', pid, startedAt };
  }

  async stats(id: string): Promise<WorkloadStats> {
    const p = await this.existing(id);
    const record = (await this.readRecord(p)) as ContainerRecord;
    return readCgroupStats(record.cgroupsPath);
  }

  async list(): Promise<WorkloadState[]> {
    return listWorkloads(this.layout.containersDir, { valid: isValidId(validateId), state: (id) => this.state(id), log: this.log, what: 'container' });
  }

  async exec(id: string, opts: ExecOptions): Promise<ExecProcess> {
    const p = await this.existing(id);
    const st = await this.runc.state(id);
    // runc would start a process in a created (not yet started) container's namespaces too; Kubernetes only execs into running ones.
    if (st?.status !== 'running') throw new ExecFailedError(id, `container is ${st ? st.status : 'not known to runc'}, not running`);
    return startExec({ runc: this.runc, id, stateDir: p.dir, scriptPath: this.scriptPath, log: this.log }, opts);
  }

  /** The terminal of a running container created with `terminal` (a system container's console), through conmon's attach socket. */
  async console(id: string): Promise<Duplex> {
    const { p, socatPath } = await this.attachable(id, {
      needsTerminal: 'the container was created without a terminal, so it has no console (a system container created before consoles existed gets one when it is restarted)',
      notRunning: 'its console is there only while it runs',
      noSocat: 'a console needs socat',
    });
    return attachConsole({ socatPath, attachSocket: p.attachSocket, ctlFifo: p.ctlFifo, containerPidFile: p.containerPid, what: id });
  }

  /** A running container's main process, through conmon's attach socket (pods/attach); see attach.ts. */
  async attach(id: string, opts: { stdin: boolean }): Promise<ExecProcess> {
    const { p, record, socatPath } = await this.attachable(id, { notRunning: 'attaching needs it running', noSocat: 'attaching needs socat' });
    return attachContainer({ socatPath, attachSocket: p.attachSocket, ctlFifo: p.ctlFifo, containerPidFile: p.containerPid, stdin: opts.stdin, tty: record.terminal === true, what: id });
  }

  /** What console() and attach() check first: the container runs (or is paused) and socat is there to reach conmon's socket. */
  private async attachable(id: string, why: { needsTerminal?: string; notRunning: string; noSocat: string }): Promise<{ p: ContainerPaths; record: ContainerRecord; socatPath: string }> {
    const p = await this.existing(id);
    const record = (await this.readRecord(p)) as ContainerRecord;
    if (why.needsTerminal && !record.terminal) throw new ExecFailedError(id, why.needsTerminal);
    const st = await this.liveState(id, p, record);
    if (st?.status !== 'running' && st?.status !== 'paused') throw new ExecFailedError(id, `container is ${st?.status ?? 'not running'}; ${why.notRunning}`);
    if (!this.socatPath) throw new ExecFailedError(id, `${why.noSocat} (Debian package socat) to reach conmon's attach socket, and it was not found`);
    return { p, record, socatPath: this.socatPath };
  }

  async resizeConsole(id: string, cols: number, rows: number): Promise<void> {
    const p = await this.existing(id);
    await resizeTerminal(p.ctlFifo, cols, rows);
  }

  /** Fail early, before anything is made, when a restore cannot work: no CRIU, or no checkpoint at that path. */
  private async checkRestorable(id: string, imageDir: string): Promise<void> {
    const criu = await this.criuAvailable();
    if (!criu.ok) throw new Error(`restore container ${id}: stateful container snapshots need CRIU: ${criu.reason}`);
    // inventory.img is the first image CRIU writes and reads: without it the dir is no checkpoint.
    if (!(await exists(join(imageDir, 'inventory.img')))) throw new Error(`restore container ${id}: ${imageDir} holds no CRIU checkpoint (no inventory.img)`);
  }

  /** The paths of a container that exists (has its record), else WorkloadNotFoundError. */
  private async existing(id: string): Promise<ContainerPaths> {
    validateId(id);
    const p = this.layout.of(id);
    if (!(await exists(p.record))) throw new WorkloadNotFoundError(id);
    return p;
  }

  private readRecord(p: ContainerPaths): Promise<ContainerRecord | undefined> {
    return readStateRecord<ContainerRecord>(p.record, 'container');
  }

  private monitorAlive(id: string, p: ContainerPaths): Promise<boolean> {
    return readPid(p.conmonPid).then((pid) => (pid ? processMatches(pid, ['--cid', id]) : false));
  }

  /** Exited and recorded: conmon wrote the exit file, or (no monitor left) runc sees it stopped. */
  private waitExited(id: string, p: ContainerPaths, timeoutMs: number): Promise<boolean> {
    return waitFor(async () => {
      if (await exists(p.exit)) return true;
      if (await this.monitorAlive(id, p)) return false;
      const st = await this.runc.state(id);
      return !st || st.status === 'stopped';
    }, timeoutMs);
  }

  /** conmon exits by itself once its container is gone; one that does not is killed. */
  private async stopMonitor(id: string, p: ContainerPaths): Promise<void> {
    const pid = await readPid(p.conmonPid);
    if (!pid || !(await processMatches(pid, ['--cid', id]))) return;
    if (await waitFor(async () => !(await processMatches(pid, ['--cid', id])), CONMON_EXIT_GRACE_MS)) return;
    this.log.warn('monitor did not exit after its container; killing it', { id, pid });
    try {
      process.kill(pid, 'SIGKILL');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ESRCH') throw e;
    }
    await waitFor(async () => !(await processMatches(pid, ['--cid', id])), CONMON_EXIT_GRACE_MS);
  }

  private unmountRoot(id: string, p: ContainerPaths): Promise<void> {
    return unmountOverlay(p.rootfs, (why) => this.log.warn('root busy; detaching it lazily', { id, why }));
  }

  /** rm -rf the state dir, but never through a mounted root (that would write whiteouts, or worse, into a bind). */
  private async removeStateDir(p: ContainerPaths): Promise<void> {
    if (await isMountPoint(p.rootfs)) throw new Error(`${p.rootfs} is still mounted; not removing ${p.dir}`);
    await rm(p.dir, { recursive: true, force: true });
  }
}
