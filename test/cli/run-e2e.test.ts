// `lodge run` against a real `lodge up --no-agent` (Pods are created but never
// run): the created Pod is read back with `lodge get pod NAME -o json`. The
// control plane is stopped by its PID and its data dir removed in `after`,
// even when a test fails.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import YAML from 'yaml';
import { lodgeCli, shutdown, startLodge, type Lodge, type RunResult } from '../e2e/harness.js';

let lodge: Lodge | undefined;
let dataDir: string | undefined;

before(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'lodge-run-e2e-'));
  lodge = await startLodge({ dataDir, args: ['--no-agent'] });
});

after(async () => {
  await shutdown(lodge, dataDir);
});

function run(args: string[]): RunResult {
  if (!lodge) throw new Error('lodge did not start');
  return lodgeCli(lodge, args);
}

function show(args: string[], r: RunResult): string {
  return `$ lodge ${args.join(' ')}\n[exit ${r.code}]\n--- stdout ---\n${r.stdout}--- stderr ---\n${r.stderr}`;
}

function ok(args: string[]): string {
  const r = run(args);
  assert.equal(r.code, 0, show(args, r));
  assert.equal(r.stderr, '', show(args, r));
  return r.stdout;
}

function fails(args: string[], stderr: string | RegExp): RunResult {
  const r = run(args);
  assert.equal(r.code, 1, show(args, r));
  if (typeof stderr === 'string') assert.equal(r.stderr, stderr, show(args, r));
  else assert.match(r.stderr, stderr, show(args, r));
  return r;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
function getPod(name: string, ns = 'default'): any {
  return JSON.parse(ok(['get', 'pod', name, '-n', ns, '-o', 'json']));
}

function absent(name: string, ns = 'default'): void {
  const args = ['get', 'pod', name, '-n', ns];
  const r = run(args);
  assert.equal(r.code, 1, show(args, r));
  assert.equal(r.stderr, `Error from server (NotFound): pods "${name}" not found\n`, show(args, r));
}

test('run creates a Pod with defaults: label run=NAME, container NAME, restartPolicy Always, args after --', () => {
  assert.equal(ok(['run', 'web', '--image', 'busybox', '--', 'sleep', '3600']), 'pod/web created\n');
  const pod = getPod('web');
  assert.deepEqual(pod.metadata.labels, { run: 'web' });
  assert.equal(pod.spec.restartPolicy, 'Always');
  assert.equal(pod.spec.containers.length, 1);
  const c = pod.spec.containers[0];
  assert.equal(c.name, 'web');
  assert.equal(c.image, 'busybox');
  assert.deepEqual(c.args, ['sleep', '3600']);
  assert.equal(c.command, undefined);
  assert.equal(c.env, undefined);
});

test('run --command, --env, --labels, --restart and -n', () => {
  ok(['create', 'ns', 'runs']);
  const args = [
    'run', 'job1', '--image', 'busybox:1.36', '-n', 'runs', '--restart', 'Never',
    '--env', 'A=1', '--env', 'B=x=y', '--env', 'EMPTY=', '--labels', 'app=demo,tier=batch',
    '--command', '--', 'sh', '-c', 'echo hi',
  ];
  assert.equal(ok(args), 'pod/job1 created\n');
  const pod = getPod('job1', 'runs');
  assert.equal(pod.metadata.namespace, 'runs');
  assert.deepEqual(pod.metadata.labels, { app: 'demo', tier: 'batch' });
  assert.equal(pod.spec.restartPolicy, 'Never');
  const c = pod.spec.containers[0];
  assert.equal(c.name, 'job1');
  assert.equal(c.image, 'busybox:1.36');
  assert.deepEqual(c.command, ['sh', '-c', 'echo hi']);
  assert.equal(c.args, undefined);
  assert.deepEqual(c.env, [{ name: 'A', value: '1' }, { name: 'B', value: 'x=y' }, { name: 'EMPTY', value: '' }]);

  assert.equal(ok(['run', 'retry', '--image', 'busybox', '-n', 'runs', '--restart', 'OnFailure']), 'pod/retry created\n');
  const retry = getPod('retry', 'runs');
  assert.equal(retry.spec.restartPolicy, 'OnFailure');
  assert.equal(retry.spec.containers[0].args, undefined);
});

test('run of an existing name fails with AlreadyExists and leaves the Pod alone', () => {
  ok(['run', 'dup', '--image', 'busybox', '--', 'first']);
  fails(['run', 'dup', '--image', 'other', '--', 'second'], 'Error from server (AlreadyExists): pods "dup" already exists\n');
  const pod = getPod('dup');
  assert.equal(pod.spec.containers[0].image, 'busybox');
  assert.deepEqual(pod.spec.containers[0].args, ['first']);
});

test('bad flags name the flag, exit 1 and create nothing', () => {
  const bad = fails(['run', 'bad1', '--image', 'busybox', '--restart', 'Sometimes'], /--restart/);
  assert.match(bad.stderr, /Sometimes/);
  absent('bad1');

  fails(['run', 'bad2', '--image', 'busybox', '--env', 'NOEQUALS'], /--env.*NOEQUALS/);
  fails(['run', 'bad2', '--image', 'busybox', '--env', '=v'], /--env/);
  absent('bad2');

  fails(['run', 'bad3', '--image', 'busybox', '--labels', 'app'], /--labels/);
  absent('bad3');

  fails(['run', 'bad4', '--', 'x'], /--image/);
  absent('bad4');

  fails(['run', 'bad5', '--image', 'busybox', '--dry-run', 'maybe'], /--dry-run/);
  absent('bad5');
});

test('--dry-run=server prints the Pod the server would create, and creates nothing', () => {
  const out = ok(['run', 'dry', '--image', 'busybox', '--dry-run=server', '-o', 'yaml', '--', 'sleep', '1']);
  const pod = YAML.parse(out);
  assert.equal(pod.kind, 'Pod');
  assert.equal(pod.apiVersion, 'v1');
  assert.equal(pod.metadata.name, 'dry');
  assert.equal(pod.metadata.namespace, 'default');
  assert.ok(pod.metadata.uid, 'the server filled in metadata.uid:\n' + out);
  assert.deepEqual(pod.spec.containers[0].args, ['sleep', '1']);
  absent('dry');

  assert.equal(ok(['run', 'dry', '--image', 'busybox', '--dry-run=server']), 'pod/dry created (server dry run)\n');
  absent('dry');

  // A dry run still meets AlreadyExists.
  fails(['run', 'dup', '--image', 'busybox', '--dry-run=server'], 'Error from server (AlreadyExists): pods "dup" already exists\n');
});

test('--dry-run=client prints the Pod without sending it', () => {
  const pod = JSON.parse(ok(['run', 'local', '--image', 'busybox', '--dry-run=client', '-o', 'json', '--command', '--', 'true']));
  assert.deepEqual(pod, {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'local', labels: { run: 'local' } },
    spec: { containers: [{ name: 'local', image: 'busybox', command: ['true'] }], restartPolicy: 'Always' },
  });
  absent('local');
});
