// One `lodge up` (with its agent) per test file for workload tests — Pods,
// Instances, their network — with the hooks every such file needs: started
// before the tests; afterwards the Instances and Pods are deleted through the
// API, lodge is stopped, any QEMU of this file's Instances is killed by the
// pid its VM driver recorded, and the host is swept by uid — whatever the
// tests left. Files add their own steps around those (a forwarder to stop, a
// network to remove) through the options.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before } from 'node:test';
import { lodgeCli, removeDir, shutdown, startLodge, testNetwork, type Lodge, type RunResult, type TestNetwork } from './harness.js';
import { InstanceFixture } from './instance-fixture.js';
import { PodFixture } from './pod-fixture.js';

export interface WorkloadLodge {
  readonly lodge: Lodge;
  readonly dataDir: string;
  /** This lodge's own bridge, nft table, cluster and service ranges. */
  readonly net: TestNetwork;
  readonly instances: InstanceFixture;
  readonly pods: PodFixture;
  /** lodge ARGS; the result whatever the exit code. */
  run(args: string[], input?: string): RunResult;
  /** lodge ARGS that must succeed; its stdout. */
  cli(...args: string[]): string;
  /** QEMU of an Instance, by the pid the VM driver recorded, while it runs. */
  qemuPid(uid: string): number | undefined;
  /** Start lodge again on the same data dir and flags (after a test stopped or killed it). */
  restart(): Promise<Lodge>;
}

export interface WorkloadLodgeOptions {
  /** More `lodge up` flags, read when it starts (after beforeStart). */
  args?: () => string[];
  /** More environment for `lodge up` (e.g. LODGE_LOG_LEVEL). */
  env?: Record<string, string>;
  /** The fixtures' namespace (default "default") and the Pods' spec defaults (default: a 1 s grace period). */
  namespace?: string;
  podDefaults?: Record<string, unknown>;
  /** Before lodge starts (e.g. a loopback DNS upstream it is pointed at). */
  beforeStart?: () => Promise<void>;
  /** Once it runs (e.g. a namespace). */
  afterStart?: (l: Lodge) => Promise<void>;
  /** While it still runs, before Instances and Pods are deleted (e.g. forwarders to stop, a Network to remove). */
  beforeStop?: (l: Lodge) => Promise<void>;
  /** After lodge stopped and the host was swept by uid (e.g. a bridge of the file's own; checks that things went). */
  afterStop?: () => Promise<void> | void;
}

/** prefix: short, as the VMs' unix sockets live under the data dir and a socket path has 107 bytes. */
export function useWorkloadLodge(prefix: string, node: string, o: WorkloadLodgeOptions = {}): WorkloadLodge {
  const dataDir = mkdtempSync(join(tmpdir(), prefix));
  let lodge: Lodge | undefined;
  const instances = new InstanceFixture(() => lodge, o.namespace ?? 'default');
  const pods = new PodFixture(() => lodge, o.namespace ?? 'default', o.podDefaults ?? { terminationGracePeriodSeconds: 1 });
  const qemuPid = (uid: string): number | undefined => {
    const f = join(dataDir, 'runtime', 'vms', `i-${uid}`, 'pid');
    if (!existsSync(f)) return undefined;
    const pid = Number(readFileSync(f, 'utf8'));
    try {
      return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(`guest=i-${uid},`) ? pid : undefined;
    } catch {
      return undefined;
    }
  };
  const start = async (): Promise<Lodge> => (lodge = await startLodge({ dataDir, args: ['--node-name', node, ...(o.args?.() ?? [])], ...(o.env ? { env: o.env } : {}) }));
  before(async () => {
    await o.beforeStart?.();
    // Not inside the optional call: its argument would go unevaluated when there is no afterStart.
    const l = await start();
    await o.afterStart?.(l);
  });
  after(async () => {
    try {
      if (lodge && lodge.proc.exitCode === null && lodge.proc.signalCode === null) {
        await o.beforeStop?.(lodge);
        await instances.deleteAll();
        await pods.deleteAll();
      }
    } finally {
      pods.noteSandboxes(dataDir);
      await shutdown(lodge, dataDir).catch(() => undefined);
      for (const uid of instances.uids) {
        const pid = qemuPid(uid);
        if (pid) process.kill(pid, 'SIGKILL');
      }
      pods.sweepHost([dataDir]);
      instances.sweepHost([dataDir]);
      removeDir(dataDir);
      await o.afterStop?.();
    }
  });
  const run = (args: string[], input?: string): RunResult => lodgeCli(lodge!, args, { timeoutMs: 600_000, input });
  return {
    get lodge(): Lodge {
      if (!lodge) throw new Error('lodge is not running');
      return lodge;
    },
    dataDir,
    net: testNetwork(dataDir),
    instances,
    pods,
    run,
    cli: (...args) => {
      const r = run(args);
      assert.equal(r.code, 0, `lodge ${args.join(' ')}\n--- stdout ---\n${r.stdout}--- stderr ---\n${r.stderr}`);
      return r.stdout;
    },
    qemuPid,
    restart: start,
  };
}
