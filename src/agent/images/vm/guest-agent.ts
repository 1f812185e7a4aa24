// The guest agent Lodge's VM images carry: Debian's qemu-guest-agent
// (qemu-ga), the agent QEMU's own guest-agent protocol is defined by, rather
// than one of our own. It is a maintained, widely deployed implementation of
// exactly the protocol the driver speaks (exec with captured output and
// input, exit status, signals), and it runs in a guest with no runtime of its
// own: the busybox-vm disk has no libc, node or compiler, so a home-made agent
// would be a shell script parsing JSON (fragile) or a binary we would have to
// build (a toolchain on the host). qemu-ga is dynamically linked (glib,
// libudev, libnuma, liburing, libc): the binary and just the shared libraries
// it loads are copied from the Debian packages into one directory, and the
// loader is run with --library-path, so nothing else in the guest changes
// and nothing is installed on the host.
import { chmod, copyFile, lstat, mkdir, readFile, readlink, writeFile } from 'node:fs/promises';
import { basename, dirname, isAbsolute, join } from 'node:path';
import { DEFAULT_DEB_CACHE, dependencyClosure, fetchDeb, unpackDeb } from './debs.js';
import { elfDynamic } from './elf.js';

export const GUEST_AGENT_PACKAGE = 'qemu-guest-agent';
/** The virtio-serial port name the agent listens on: QEMU's convention, used by the VM driver's port too. */
export const GUEST_AGENT_PORT_NAME = 'org.qemu.guest_agent.0';
/** In the guest: qemu-ga and its libraries, self-contained. */
export const QGA_DIR = '/usr/lib/lodge/qemu-ga';

/** Where shared libraries are in an unpacked Debian tree (multiarch first). */
const LIB_DIRS = ['lib/x86_64-linux-gnu', 'usr/lib/x86_64-linux-gnu', 'lib64', 'usr/lib64', 'lib', 'usr/lib'];

/**
 * The script at GUEST_AGENT_PATH that rcS starts in the background. There is
 * no udev: the port is found by its name under /sys/class/virtio-ports and
 * its node in devtmpfs. The port appears a moment after virtio_console loads
 * (QEMU announces ports over the control queue), so it is waited for, bounded.
 */
export const GUEST_AGENT_SCRIPT = `#!/bin/sh
dir=${QGA_DIR}
name=${GUEST_AGENT_PORT_NAME}
port=
n=0
while [ -z "$port" ]; do
  for f in /sys/class/virtio-ports/*/name; do
    [ -r "$f" ] || continue
    if [ "$(cat "$f")" = "$name" ]; then
      p=/dev/$(basename "$(dirname "$f")")
      [ -c "$p" ] && port=$p
    fi
  done
  [ -n "$port" ] && break
  n=$((n + 1))
  if [ $n -ge 300 ]; then echo "guest-agent: no virtio-serial port named $name" >/dev/console; exit 1; fi
  usleep 20000
done
mkdir -p /run/qemu-ga
exec "$dir/ld.so" --library-path "$dir/lib" "$dir/qemu-ga" -m virtio-serial -p "$port" -t /run/qemu-ga -f /run/qemu-ga.pid -l /var/log/qemu-ga.log
`;

export interface GuestAgentInstallOptions {
  debCache?: string;
}

/** Unpacks qemu-guest-agent and its libraries under `workDir` and installs the agent into the guest root `rootDir` at `agentPath` (the script) and QGA_DIR. */
export async function installGuestAgent(rootDir: string, workDir: string, agentPath: string, opts: GuestAgentInstallOptions = {}): Promise<{ packages: string[]; libraries: string[] }> {
  const packages = await dependencyClosure(GUEST_AGENT_PACKAGE);
  for (const pkg of packages) await unpackDeb(await fetchDeb(pkg, opts.debCache ?? DEFAULT_DEB_CACHE), workDir);
  const exe = join(workDir, 'usr/sbin/qemu-ga');
  const exeBytes = await readFile(exe).catch((e: Error) => {
    throw new Error(`${GUEST_AGENT_PACKAGE} has no usr/sbin/qemu-ga: ${e.message}`);
  });
  const { interp } = elfDynamic(exeBytes, exe);
  if (!interp) throw new Error(`${exe} names no dynamic loader (PT_INTERP)`);

  const out = join(rootDir, QGA_DIR);
  await mkdir(join(out, 'lib'), { recursive: true });
  await copyFile(exe, join(out, 'qemu-ga'));
  await chmod(join(out, 'qemu-ga'), 0o755);
  const loader = await findLibrary(workDir, basename(interp));
  if (!loader) throw new Error(`the dynamic loader ${interp} is in none of ${packages.join(', ')}`);
  await copyFile(loader, join(out, 'ld.so'));
  await chmod(join(out, 'ld.so'), 0o755);

  // The DT_NEEDED closure, breadth first: only what qemu-ga really loads, not every file of its packages.
  const copied = new Set<string>();
  const todo = [...elfDynamic(exeBytes, exe).needed];
  while (todo.length) {
    const soname = todo.shift()!;
    if (copied.has(soname)) continue;
    const file = await findLibrary(workDir, soname);
    if (!file) throw new Error(`qemu-ga needs ${soname}, which none of ${packages.join(', ')} provides`);
    copied.add(soname);
    await copyFile(file, join(out, 'lib', soname));
    todo.push(...elfDynamic(await readFile(file), file).needed);
  }

  await mkdir(dirname(join(rootDir, agentPath)), { recursive: true });
  await writeFile(join(rootDir, agentPath), GUEST_AGENT_SCRIPT);
  await chmod(join(rootDir, agentPath), 0o755);
  return { packages, libraries: [...copied].sort() };
}

/** The real file (symlinks followed inside the tree, not on the host) for `soname` in the unpacked tree. */
async function findLibrary(tree: string, soname: string): Promise<string | undefined> {
  for (const d of LIB_DIRS) {
    const real = await resolveInTree(tree, join(tree, d, soname));
    if (real) return real;
  }
  return undefined;
}

async function resolveInTree(tree: string, path: string): Promise<string | undefined> {
  let p = path;
  for (let hops = 0; hops < 16; hops++) {
    const st = await lstat(p).catch(() => undefined);
    if (!st) return undefined;
    if (!st.isSymbolicLink()) return st.isFile() ? p : undefined;
    const target = await readlink(p);
    // An absolute link means the guest's root, which is the tree here.
    p = isAbsolute(target) ? join(tree, target) : join(dirname(p), target);
  }
  return undefined;
}
