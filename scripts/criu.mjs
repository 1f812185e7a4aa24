#!/usr/bin/env node
// Builds CRIU 4.1.1 from Debian's source tarball, once per machine, into
// /var/cache/lodge/criu/4.1.1/criu. Why build: bookworm's criu 3.17 fails on
// the kernels Lodge runs on ("Unexpected rt vDSO area bounds"), and trixie's
// 4.1.1 binary package needs glibc 2.38 (bookworm has 2.36). The source,
// built against bookworm's own -dev packages, works.
//
// The binary stays in the cache dir and is not installed on PATH: the
// container driver hands it to runc with `runc --criu PATH`, so nothing else
// on the host (a distro criu, another engine's) is replaced or shadowed.
//
// Called by setup.mjs; also runnable alone. Never fails setup: without CRIU
// only stateful container snapshots are missing, and they say why
// (ContainerDriver.criuAvailable). A build that fails prints one line and
// leaves its log in the cache dir.
import { spawnSync } from 'node:child_process';
import { copyFileSync, chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { availableParallelism, tmpdir } from 'node:os';
import { pathToFileURL } from 'node:url';

export const CRIU_VERSION = '4.1.1';
const TARBALL = `criu_${CRIU_VERSION}.orig.tar.xz`;
const URL_ = `http://deb.debian.org/debian/pool/main/c/criu/${TARBALL}`;
const SHA256 = 'f80a66cb3726bb2116266d4759ce3bcbfab7abdb6b6d430bf20dd41911717afe';
export const CRIU_DIR = `/var/cache/lodge/criu/${CRIU_VERSION}`;
export const CRIU_BIN = join(CRIU_DIR, 'criu');

// bookworm packages CRIU's Makefile needs; [file that proves it is there, package].
const BUILD_DEPS = [
  ['/usr/include/protobuf-c/protobuf-c.h', 'libprotobuf-c-dev'],
  ['/usr/bin/protoc-c', 'protobuf-c-compiler'],
  ['/usr/bin/protoc', 'protobuf-compiler'],
  ['/usr/include/google/protobuf/descriptor.proto', 'libprotobuf-dev'],
  ['/usr/include/libnl3/netlink/netlink.h', 'libnl-3-dev'],
  ['/usr/include/libnet.h', 'libnet1-dev'],
  ['/usr/include/sys/capability.h', 'libcap-dev'],
  ['/usr/include/bsd/string.h', 'libbsd-dev'],
  ['/usr/include/gnutls/gnutls.h', 'libgnutls28-dev'],
  ['/usr/include/nftables/libnftables.h', 'libnftables-dev'],
  ['/usr/include/uuid/uuid.h', 'uuid-dev'],
  ['/usr/bin/pkg-config', 'pkgconf'],
  ['/usr/bin/gcc', 'gcc'],
  ['/usr/bin/make', 'make'],
  ['/usr/bin/xz', 'xz-utils'],
  ['/usr/bin/curl', 'curl'],
];

const say = (msg) => process.stderr.write(`setup: criu: ${msg}\n`);

/** Returns the path of a working criu binary, or undefined (after one line saying why). */
export function ensureCriu() {
  if (existsSync(CRIU_BIN)) return CRIU_BIN;
  if (process.getuid?.() !== 0) return skip(`not building CRIU ${CRIU_VERSION}: needs root (it goes to ${CRIU_DIR})`);
  const started = Date.now();
  mkdirSync(CRIU_DIR, { recursive: true });
  const logPath = join(CRIU_DIR, 'build.log');
  writeFileSync(logPath, '');
  const log = (s) => writeFileSync(logPath, s, { flag: 'a' });
  const run = (cmd, args, opts = {}) => {
    log(`$ ${cmd} ${args.join(' ')}\n`);
    const r = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024, ...opts });
    log((r.stdout ?? '') + (r.stderr ?? ''));
    if (r.status !== 0) throw new Error(`${cmd} ${args.slice(0, 3).join(' ')} failed (exit ${r.status ?? r.signal ?? r.error?.message}); see ${logPath}`);
    return r.stdout;
  };
  const work = mkdtempSync(join(tmpdir(), 'lodge-criu-'));
  try {
    const missing = BUILD_DEPS.filter(([file]) => !existsSync(file)).map(([, pkg]) => pkg);
    if (missing.length) {
      say(`installing build dependencies: ${missing.join(' ')}`);
      const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
      run('apt-get', ['update', '-qq'], { env });
      run('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...missing], { env });
    }
    say(`building CRIU ${CRIU_VERSION} from Debian's source (once per machine, about a minute)`);
    const tarball = join(work, TARBALL);
    run('curl', ['-fsSL', '--retry', '3', '-o', tarball, URL_]);
    const sum = createHash('sha256').update(readFileSync(tarball)).digest('hex');
    if (sum !== SHA256) throw new Error(`${TARBALL} has sha256 ${sum}, expected ${SHA256}`);
    run('tar', ['-xf', tarball, '-C', work]);
    const src = join(work, `criu-${CRIU_VERSION}`);
    // Only the binary: docs need asciidoc/xmlto, and the plugins, crit and libcriu are not used.
    run('make', [`-j${Math.min(4, availableParallelism())}`, 'criu'], { cwd: src });
    // A binary that does not even start (a missing shared library) is no better than none.
    run(join(src, 'criu', 'criu'), ['--version']);
    // Atomic: a half-copied binary must never look like a cached one.
    copyFileSync(join(src, 'criu', 'criu'), `${CRIU_BIN}.tmp`);
    chmodSync(`${CRIU_BIN}.tmp`, 0o755);
    renameSync(`${CRIU_BIN}.tmp`, CRIU_BIN);
    say(`built ${CRIU_BIN} in ${Math.round((Date.now() - started) / 1000)} s`);
    return CRIU_BIN;
  } catch (e) {
    return skip(`CRIU ${CRIU_VERSION} not built (${e.message}); stateful container snapshots will be unavailable`);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

function skip(why) {
  say(why);
  return undefined;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) ensureCriu();
