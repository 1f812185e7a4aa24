// Where a container's state lives. Everything the driver needs to find,
// re-adopt and tear down a container is under <root>/containers/<id>/, so a
// fresh agent (or a fresh driver in the same process) needs no memory of
// its own: the directory is the record.
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import type { StopSignal } from '../../runtime/driver.js';

// runc's own id rule, with a length cap (the id ends up in paths and cgroup names).
const ID = /^[A-Za-z0-9][A-Za-z0-9_.+-]{0,127}$/;

export function validateId(id: string): void {
  if (!ID.test(id)) throw new Error(`container id ${JSON.stringify(id)} must match ${ID.source}`);
}

export class Layout {
  constructor(readonly root: string) {}

  get containersDir(): string {
    return join(this.root, 'containers');
  }
  /** One file per exited container, named by id (conmon --exit-dir): one directory an agent can watch. */
  get exitsDir(): string {
    return join(this.root, 'exits');
  }
  /** conmon's attach-socket symlinks; kept short because unix socket paths are limited to 107 bytes. */
  get socketsDir(): string {
    return join(this.root, 's');
  }

  of(id: string): ContainerPaths {
    const dir = join(this.containersDir, id);
    const cuuid = createHash('sha256').update(id).digest('hex').slice(0, 12);
    return {
      dir,
      bundle: dir,
      configJson: join(dir, 'config.json'),
      record: join(dir, 'workload.json'),
      rootfs: join(dir, 'rootfs'),
      upper: join(dir, 'upper'),
      work: join(dir, 'work'),
      containerPid: join(dir, 'container.pid'),
      conmonPid: join(dir, 'conmon.pid'),
      startedAt: join(dir, 'started-at'),
      exit: join(dir, 'exit'),
      oom: join(dir, 'oom'),
      exitInDir: join(this.exitsDir, id),
      cuuid,
      socketLink: join(this.socketsDir, cuuid),
      attachSocket: join(this.socketsDir, cuuid, 'attach'),
      ctlFifo: join(dir, 'ctl'),
    };
  }
}

export interface ContainerPaths {
  dir: string;
  bundle: string;
  configJson: string;
  /** What create was asked for (workload.json): the cgroup and log path that delete and stats need. */
  record: string;
  rootfs: string;
  upper: string;
  work: string;
  containerPid: string;
  conmonPid: string;
  startedAt: string;
  /** Written by conmon (persist dir) when the container ends: its exit code. */
  exit: string;
  /** Created by conmon when the kernel reports an OOM event in the container's memory cgroup. */
  oom: string;
  exitInDir: string;
  cuuid: string;
  socketLink: string;
  attachSocket: string;
  /** conmon's control FIFO (in the bundle): "1 ROWS COLS\n" resizes the terminal. */
  ctlFifo: string;
}

/** The part of the WorkloadSpec kept on disk for the container's lifetime. */
export interface ContainerRecord {
  id: string;
  node: string;
  cgroupsPath: string;
  logPath: string;
  createdAt: string;
  /** Runs on a terminal conmon holds (a system container's console). */
  terminal?: boolean;
  /** conmon keeps the process's stdin open for attached clients (conmon --stdin). */
  stdin?: boolean;
  /** What stop() sends first, when not SIGTERM (systemd: SIGRTMIN+3); kept here since stop() gets only the id. */
  stopSignal?: StopSignal;
  /** Brought back from this checkpoint image dir (runc restore) rather than started fresh: it runs as soon as it is created. */
  restoredFrom?: string;
}
