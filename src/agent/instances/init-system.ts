// Which init a system container boots, and the files Lodge gives it. A
// system container runs its image's init as PID 1, as LXC/Incus do:
//  - busybox images: busybox init, with an /etc/inittab Lodge writes
//    (bind-mounted read-only from the instance's dir): a sysinit that makes
//    the run-time dirs and marks the boot on the console, the image's rcS if
//    it has one, and syslogd respawned as a real service.
//  - images without /sbin/init (Debian minbase has no systemd): the host's
//    static busybox is bind-mounted at /.lodge/busybox and runs as init with
//    the same inittab, so the instance still boots an init that reaps,
//    respawns and shuts down cleanly; status says so (reason LodgeInit).
//  - systemd (/sbin/init -> /lib/systemd/systemd, the debian-systemd image):
//    run as is, in a container the driver prepares for it (WorkloadSpec
//    systemd: writable name=systemd cgroup, tmpfs /run, CAP_SYS_ADMIN; see
//    oci-spec.ts), stopped with SIGRTMIN+3, its halt request (it ignores
//    SIGTERM as PID 1). container=lodge tells it that it runs in a container.
//  - any other /sbin/init: run as is.
// The console is a terminal (conmon -t holds its master and logs what is
// written to it as the console log): init's /dev/console. A shell respawns
// on it, as the VM images have one on ttyS0, so `lodge console` gets a
// prompt; the terminal echoes and ends lines with \r\n, so the console log's
// lines end with \r. runc makes the terminal init's controlling tty, and
// without CAP_SYS_ADMIN the shell cannot take it over: it runs without job
// control (Ctrl-C does not interrupt a command there; busybox says "can't
// access tty"), which a small pty-forking helper in the guest could fix.
import { lstat, readlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { FIRST_BOOT_SCRIPT } from '../first-boot/rootfs.js';
import { findStaticBusybox } from '../images/builtin.js';

export const LODGE_BUSYBOX = '/.lodge/busybox';
/** Printed on the console once sysinit is done: the "guest userspace ready" marker tests and benches wait for. */
export const BOOT_MARKER = 'lodge: booted';

export interface InitPlan {
  args: string[];
  env: string[];
  mounts: Array<{ source: string; destination: string; readOnly?: boolean }>;
  /** systemd: the container needs what oci-spec.ts gives it, and SIGRTMIN+3 to stop. */
  systemd?: boolean;
  /** Why the init is not the image's own, for status. */
  note?: { reason: string; message: string };
}

/** Whether a path is in one of the layers (a symlink counts: /bin/sh -> busybox or dash). */
async function existsIn(layers: string[], path: string): Promise<boolean> {
  for (const dir of layers) if (await lstat(join(dir, path)).catch(() => undefined)) return true;
  return false;
}

/** Where sbin/init resolves in the image layers (topmost first, the persistent upper layer before them). */
async function findInit(layers: string[]): Promise<{ kind: 'busybox' | 'systemd' | 'other' } | undefined> {
  for (const dir of layers) {
    const p = join(dir, 'sbin', 'init');
    const st = await lstat(p).catch(() => undefined);
    if (!st) continue;
    if (st.isSymbolicLink()) {
      const target = await readlink(p);
      // systemd-sysv's link: /lib/systemd/systemd (../lib/systemd/systemd on merged /usr).
      return { kind: /busybox$/.test(target) ? 'busybox' : /(^|\/)systemd\/systemd$/.test(target) ? 'systemd' : 'other' };
    }
    return { kind: 'other' };
  }
  return undefined;
}

/**
 * consoleShell: the shell to respawn on the console (the image's /bin/sh),
 * or none when the image has no shell.
 */
export function inittab(name: string, bb: string, consoleShell?: string): string {
  const sh = (cmd: string): string => `${bb} sh -c '${cmd}'`;
  return [
    `# Written by Lodge for instance ${name}; busybox init reads it at boot.`,
    // No mounts here: the container has no CAP_SYS_ADMIN; the runtime provides /proc, /sys, /dev.
    `::sysinit:${bb} mkdir -p /run /tmp /var/log`,
    `::sysinit:${sh('[ ! -x /etc/init.d/rcS ] || /etc/init.d/rcS')}`,
    `::sysinit:${sh(`echo "${BOOT_MARKER} ${name}"`)}`,
    `::respawn:${bb} syslogd -n -O /var/log/messages`,
    // The user-data script, once per instance (its .done stays in the persistent root layer).
    `::once:${sh(`[ ! -x ${FIRST_BOOT_SCRIPT} ] || [ -e ${FIRST_BOOT_SCRIPT}.done ] || { ${FIRST_BOOT_SCRIPT} > /var/log/lodge-user-data.log 2>&1; rc=$?; echo $rc > ${FIRST_BOOT_SCRIPT}.done; echo "lodge: user-data finished (exit $rc)"; }`)}`,
    // An empty tty field: init's own console. "-": a login shell (reads /etc/profile).
    ...(consoleShell ? [`::respawn:-${consoleShell}`] : []),
    `::shutdown:${sh(`echo "lodge: ${name} shutting down"`)}`,
    '',
  ].join('\n');
}

/**
 * The init of a system container and what it needs mounted. layers: the
 * persistent upper dir, then the image's lower dirs (topmost first).
 */
export async function planInit(name: string, layers: string[], inittabPath: string, imageEnv: string[]): Promise<InitPlan> {
  const env = [...imageEnv.filter((e) => !e.startsWith('container=')), 'container=lodge'];
  const found = await findInit(layers);
  if (found?.kind === 'systemd') return { args: ['/sbin/init'], env, mounts: [], systemd: true };
  if (found?.kind === 'other') return { args: ['/sbin/init'], env, mounts: [] };
  const own = found?.kind === 'busybox';
  const bb = own ? '/bin/busybox' : LODGE_BUSYBOX;
  await writeFile(inittabPath, inittab(name, bb, (await existsIn(layers, 'bin/sh')) ? '/bin/sh' : undefined));
  const mounts: InitPlan['mounts'] = [{ source: inittabPath, destination: '/etc/inittab', readOnly: true }];
  if (own) return { args: ['/sbin/init'], env, mounts };
  mounts.push({ source: await findStaticBusybox(), destination: LODGE_BUSYBOX, readOnly: true });
  return {
    args: [LODGE_BUSYBOX, 'init'],
    env,
    mounts,
    note: { reason: 'LodgeInit', message: "the image has no /sbin/init (e.g. Debian minbase has no systemd): booted with Lodge's busybox init" },
  };
}
