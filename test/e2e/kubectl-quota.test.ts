// End-to-end: real kubectl against `lodge up --no-agent` for ResourceQuota
// and LimitRange — `kubectl create quota`, `get quota` (REQUEST/LIMIT
// columns), `describe quota` (Used/Hard), `get limitrange`, and a refused
// create as kubectl prints it.
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, it } from 'node:test';
import { describeRun, parseTable, runKubectl, shutdown, startLodge, type KubectlRun, type Lodge } from './harness.js';

const dataDir = mkdtempSync(join(tmpdir(), 'lodge-e2e-kubectl-quota-'));
let lodge: Lodge | undefined;

function run(args: string[], input?: string): KubectlRun {
  assert.ok(lodge, 'lodge is running');
  return runKubectl(lodge, args, input === undefined ? {} : { input });
}

function ok(args: string[], input?: string): string {
  const r = run(args, input);
  assert.equal(r.code, 0, describeRun(r));
  return r.stdout;
}

before(async () => {
  lodge = await startLodge({ dataDir, args: ['--no-agent'] });
});

after(async () => {
  await shutdown(lodge, dataDir);
});

it('create/get/describe quota, get limitrange, and a create over quota refused', async () => {
  ok(['create', 'namespace', 'team']);
  assert.match(ok(['-n', 'team', 'create', 'quota', 'q', '--hard=pods=1,requests.cpu=1,limits.cpu=2']), /resourcequota\/q created/);
  ok(['-n', 'team', 'run', 'one', '--image=busybox', '--restart=Never', '--overrides={"spec":{"containers":[{"name":"one","image":"busybox","resources":{"limits":{"cpu":"500m"}}}]}}']);
  // The controller writes status.used; wait for it (no promise of when) by polling kubectl.
  let t = parseTable(ok(['-n', 'team', 'get', 'quota']));
  for (let i = 0; i < 100 && t.rows[0]?.REQUEST !== 'pods: 1/1, requests.cpu: 500m/1'; i++) {
    await new Promise((r) => setTimeout(r, 100));
    t = parseTable(ok(['-n', 'team', 'get', 'quota']));
  }
  assert.deepEqual(t.columns, ['NAME', 'AGE', 'REQUEST', 'LIMIT']);
  assert.equal(t.rows[0].REQUEST, 'pods: 1/1, requests.cpu: 500m/1');
  assert.equal(t.rows[0].LIMIT, 'limits.cpu: 500m/2');
  const d = ok(['-n', 'team', 'describe', 'quota', 'q']);
  assert.match(d, /^Resource\s+Used\s+Hard$/m, d);
  assert.match(d, /^pods\s+1\s+1$/m, d);
  assert.match(d, /^requests\.cpu\s+500m\s+1$/m, d);
  const refused = run(['-n', 'team', 'run', 'two', '--image=busybox', '--restart=Never']);
  assert.notEqual(refused.code, 0);
  assert.match(refused.stderr, /pods "two" is forbidden: failed quota: q: must specify limits\.cpu for: two; requests\.cpu for: two/, refused.stderr);
  ok(['-n', 'team', 'apply', '-f', '-'], 'apiVersion: v1\nkind: LimitRange\nmetadata:\n  name: lr\nspec:\n  limits:\n  - type: Container\n    max:\n      cpu: "1"\n');
  // Scopes, as kubectl sends and shows them.
  ok(['-n', 'team', 'create', 'quota', 'be', '--hard=pods=5', '--scopes=BestEffort']);
  assert.match(ok(['-n', 'team', 'describe', 'quota', 'be']), /^Scopes:\s+BestEffort$/m);
  const lr = parseTable(ok(['-n', 'team', 'get', 'limitrange']));
  assert.deepEqual(lr.columns, ['NAME', 'CREATED AT']);
  assert.match(lr.rows[0]['CREATED AT'], /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
});
