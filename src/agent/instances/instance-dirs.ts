// What an Instance keeps on its node besides the driver's workload:
// <dataDir>/instances/<uid>/ with its persistent root layer (upper/, work/:
// a system container's writes survive stop, start and restart, which delete
// and create the workload), its console log, the files Lodge writes into the
// guest (inittab), and the agent's own record (agent.json). Plus its network
// namespace. Made first and removed last, so a crash in between leaves a
// trace the agent finds by uid.
import { execFile } from 'node:child_process';
import { mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { removeCgroup } from '../drivers/container/cgroups.js';
import { instanceCgroup, instanceNetnsName, instanceNetnsPath } from './ids.js';

const run = promisify(execFile);

/** What the agent remembers about an Instance on this node, across its own restarts. */
export interface AgentRecord {
  /** The lodge.dev/restartedAt value last acted on (a restart request is done once). */
  restartHandled?: string;
  /** Restarts made by the run strategy (status.restartCount, kept here too in case a status write was lost). */
  restartCount?: number;
  /** The lodge.dev/restoreRequestedAt value last acted on. */
  restoreHandled?: string;
  /** The lodge.dev/flattenRequestedAt value last acted on. */
  flattenHandled?: string;
}

const exists = (p: string): Promise<boolean> =>
  stat(p).then(
    () => true,
    () => false,
  );

export class InstanceDirs {
  constructor(readonly root: string) {}

  dir(uid: string): string {
    return join(this.root, uid);
  }
  upper(uid: string): string {
    return join(this.dir(uid), 'upper');
  }
  work(uid: string): string {
    return join(this.dir(uid), 'work');
  }
  /** The console log (CRI format, one file across boots: conmon appends). */
  consoleLog(uid: string): string {
    return join(this.dir(uid), 'console.log');
  }
  /** Files Lodge places in the guest (bind-mounted read-only). */
  guestFile(uid: string, name: string): string {
    return join(this.dir(uid), 'guest', name);
  }

  async ensureDir(uid: string): Promise<void> {
    await mkdir(join(this.dir(uid), 'guest'), { recursive: true });
  }

  async readRecord(uid: string): Promise<AgentRecord> {
    try {
      return JSON.parse(await readFile(join(this.dir(uid), 'agent.json'), 'utf8')) as AgentRecord;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return {};
      throw new Error(`instance ${uid}: unreadable agent record: ${(e as Error).message}`);
    }
  }

  /** Written atomically: a SIGKILL mid-write must not lose the record of a handled restart. */
  async writeRecord(uid: string, rec: AgentRecord): Promise<void> {
    const path = join(this.dir(uid), 'agent.json');
    await writeFile(`${path}.tmp`, JSON.stringify(rec));
    await rename(`${path}.tmp`, path);
  }

  /** The network namespace with loopback up (one `ip -batch` run). */
  async ensureNetns(uid: string): Promise<void> {
    if (await exists(instanceNetnsPath(uid))) return;
    const name = instanceNetnsName(uid);
    const make = (): Promise<unknown> => {
      const p = run('ip', ['-batch', '-']);
      p.child.stdin?.end(`netns add ${name}\nnetns exec ${name} ip link set lo up\n`);
      return p;
    };
    try {
      await make();
    } catch (e) {
      // A half-made namespace fails the batch: remove it and try once more.
      await run('ip', ['netns', 'del', name]).catch(() => undefined);
      await make().catch(() => {
        throw new Error(`instance ${uid}: cannot create network namespace ${name}: ${(e as Error).message}`);
      });
    }
  }

  /** Remove the netns, the cgroup and the state dir (its persistent layer included). Idempotent. */
  async remove(uid: string): Promise<void> {
    if (await exists(instanceNetnsPath(uid))) await run('ip', ['netns', 'del', instanceNetnsName(uid)]);
    await removeCgroup(instanceCgroup(uid));
    // Called after the driver deleted the workload: its overlay (upper/ is a layer of it) is unmounted by then.
    await rm(this.dir(uid), { recursive: true, force: true });
  }

  /** Uids with a state dir on this node. */
  async list(): Promise<string[]> {
    try {
      return await readdir(this.root);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw e;
    }
  }
}
