#!/usr/bin/env node
// Installs whatever is missing so that `npm start` and `npm test` work on a
// fresh Debian bookworm machine: Debian packages, npm dependencies, the build.
// Idempotent and quiet when everything is already there.
// Plain JavaScript with no dependencies: it runs before node_modules exists.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const say = (msg) => process.stderr.write(`setup: ${msg}\n`);

function run(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { stdio: 'inherit', cwd: root, ...opts });
  if (r.status !== 0) {
    say(`${cmd} ${args.join(' ')} failed (exit ${r.status ?? r.signal})`);
    process.exit(1);
  }
}

function have(cmd) {
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
}

// Debian packages Lodge runs, as [command that proves it is there, package].
const packages = JSON.parse(readFileSync(join(root, 'scripts', 'debian-packages.json'), 'utf8'));
const missing = packages.filter(([cmd]) => !have(cmd)).map(([, pkg]) => pkg);
if (missing.length) {
  if (process.getuid?.() !== 0) {
    say(`missing Debian packages ${missing.join(', ')}; run as root or install them`);
    process.exit(1);
  }
  say(`installing Debian packages: ${missing.join(' ')}`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  run('apt-get', ['update', '-qq'], { env });
  run('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...missing], { env });
}

// CRIU for container checkpoints, built once per machine (see criu.mjs); never fails setup.
(await import('./criu.mjs')).ensureCriu();

// npm dependencies: (re)install when node_modules is missing or older than the lock file.
const lock = join(root, 'package-lock.json');
const installed = join(root, 'node_modules', '.package-lock.json');
if (!existsSync(installed) || statSync(installed).mtimeMs < statSync(lock).mtimeMs) {
  say('installing npm dependencies');
  run('npm', ['ci', '--no-audit', '--no-fund']);
}

// The build: tsc is incremental, so this is quick when nothing changed.
run(process.execPath, [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.json']);
try {
  execFileSync(process.execPath, ['-e', "require('better-sqlite3')"], { cwd: root, stdio: 'ignore' });
} catch {
  say('better-sqlite3 did not load; rebuilding it');
  run('npm', ['rebuild', 'better-sqlite3']);
}
