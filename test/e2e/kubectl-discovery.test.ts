// End-to-end: real kubectl against a real `lodge up` — what kubectl learns
// before it touches any object: the server version, the resource list
// (discovery) and the schemas behind `kubectl explain` (OpenAPI).
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { describeRun, parseTable, requestFailures, runKubectl, shutdown, startLodge, type KubectlOptions, type Lodge } from './harness.js';

const dataDir = mkdtempSync(join(tmpdir(), 'lodge-e2e-kubectl-discovery-'));
let lodge: Lodge | undefined;

function L(): Lodge {
  assert.ok(lodge, 'lodge is running');
  return lodge;
}

function ok(args: string[], o: KubectlOptions = {}): string {
  const r = runKubectl(L(), args, o);
  assert.equal(r.code, 0, describeRun(r));
  return r.stdout;
}

// Every kind Lodge serves: [resource, short name, apiVersion, namespaced, Kind].
const KINDS: Array<[string, string, string, boolean, string]> = [
  ['configmaps', 'cm', 'v1', true, 'ConfigMap'],
  ['endpoints', 'ep', 'v1', true, 'Endpoints'],
  ['events', 'ev', 'v1', true, 'Event'],
  ['namespaces', 'ns', 'v1', false, 'Namespace'],
  ['nodes', 'no', 'v1', false, 'Node'],
  ['persistentvolumeclaims', 'pvc', 'v1', true, 'PersistentVolumeClaim'],
  ['pods', 'po', 'v1', true, 'Pod'],
  ['limitranges', 'limits', 'v1', true, 'LimitRange'],
  ['resourcequotas', 'quota', 'v1', true, 'ResourceQuota'],
  ['secrets', '', 'v1', true, 'Secret'],
  ['services', 'svc', 'v1', true, 'Service'],
  ['deployments', 'deploy', 'apps/v1', true, 'Deployment'],
  ['replicasets', 'rs', 'apps/v1', true, 'ReplicaSet'],
  ['daemonsets', 'ds', 'apps/v1', true, 'DaemonSet'],
  ['controllerrevisions', '', 'apps/v1', true, 'ControllerRevision'],
  ['cronjobs', 'cj', 'batch/v1', true, 'CronJob'],
  ['jobs', '', 'batch/v1', true, 'Job'],
  ['leases', '', 'coordination.k8s.io/v1', true, 'Lease'],
  ['endpointslices', '', 'discovery.k8s.io/v1', true, 'EndpointSlice'],
  ['poddisruptionbudgets', 'pdb', 'policy/v1', true, 'PodDisruptionBudget'],
  ['priorityclasses', 'pc', 'scheduling.k8s.io/v1', false, 'PriorityClass'],
  ['images', 'img', 'lodge.dev/v1alpha1', false, 'Image'],
  ['instances', 'inst', 'lodge.dev/v1alpha1', true, 'Instance'],
  ['networks', 'net', 'lodge.dev/v1alpha1', false, 'Network'],
  ['snapshots', 'snap', 'lodge.dev/v1alpha1', true, 'Snapshot'],
];

before(async () => {
  lodge = await startLodge({ dataDir, args: ['--no-agent'] });
});

after(async () => {
  await shutdown(lodge, dataDir);
});

describe('kubectl version', () => {
  it('prints the server version line', () => {
    const out = ok(['version']);
    assert.match(out, /^Client Version: v1\.\d+\.\d+/m);
    assert.match(out, /^Server Version: v1\.33\.0-lodge$/m);
  });

  it('reports the server version as JSON', () => {
    const v = JSON.parse(ok(['version', '-o', 'json'])) as { serverVersion: Record<string, string> };
    assert.equal(v.serverVersion.gitVersion, 'v1.33.0-lodge');
    assert.equal(v.serverVersion.major, '1');
    assert.equal(v.serverVersion.minor, '33');
    assert.equal(v.serverVersion.platform, 'linux/amd64');
  });
});

describe('kubectl api-resources', () => {
  it('lists all 25 kinds with short names, group/version, scope and kind', () => {
    const out = ok(['api-resources']);
    const t = parseTable(out);
    assert.deepEqual(t.columns, ['NAME', 'SHORTNAMES', 'APIVERSION', 'NAMESPACED', 'KIND'], out);
    const got = t.rows.map((r) => [r.NAME, r.SHORTNAMES, r.APIVERSION, r.NAMESPACED === 'true', r.KIND]);
    const sortKey = (x: unknown[]): string => `${x[2]}/${x[0]}`;
    assert.deepEqual(
      [...got].sort((a, b) => sortKey(a).localeCompare(sortKey(b))),
      [...KINDS].sort((a, b) => sortKey(a).localeCompare(sortKey(b))),
      out,
    );
    assert.match(out, /^instances\s+inst\s+lodge\.dev\/v1alpha1\s+true\s+Instance$/m);
  });

  it('filters by group and scope', () => {
    const lodgeGroup = ok(['api-resources', '--api-group=lodge.dev', '-o', 'name']).trim().split('\n').sort();
    assert.deepEqual(lodgeGroup, ['images.lodge.dev', 'instances.lodge.dev', 'networks.lodge.dev', 'snapshots.lodge.dev']);
    const cluster = ok(['api-resources', '--namespaced=false', '-o', 'name']).trim().split('\n').sort();
    assert.deepEqual(cluster, ['images.lodge.dev', 'namespaces', 'networks.lodge.dev', 'nodes', 'priorityclasses.scheduling.k8s.io']);
  });

  it('lists the verbs of each resource (-o wide)', () => {
    const out = ok(['api-resources', '-o', 'wide', '--api-group=apps']);
    const t = parseTable(out);
    assert.ok(t.columns.includes('VERBS'), out);
    const dep = t.rows.find((r) => r.NAME === 'deployments');
    assert.ok(dep, out);
    for (const verb of ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch']) {
      assert.match(dep.VERBS, new RegExp(`\\b${verb}\\b`), `deployments verbs: ${dep.VERBS}`);
    }
    assert.match(dep.CATEGORIES ?? '', /\ball\b/, out);
  });
});

describe('kubectl explain', () => {
  it('explains deployment.spec.strategy', () => {
    const out = ok(['explain', 'deployment.spec.strategy']);
    assert.match(out, /^GROUP:\s+apps$/m);
    assert.match(out, /^KIND:\s+Deployment$/m);
    assert.match(out, /^VERSION:\s+v1$/m);
    assert.match(out, /^FIELD: strategy <DeploymentStrategy>$/m);
    assert.match(out, /^DESCRIPTION:/m);
    assert.match(out, /^ {2}rollingUpdate\t<RollingUpdateDeployment>$/m);
    assert.match(out, /^ {2}type\t<string>$/m);
    assert.match(out, /enum: Recreate, RollingUpdate/);
  });

  it('explains deployment.spec.strategy --recursive down to the IntOrString fields', () => {
    const out = ok(['explain', 'deployment.spec.strategy', '--recursive']);
    assert.match(out, /^ {4}maxSurge\t<IntOrString>$/m);
    assert.match(out, /^ {4}maxUnavailable\t<IntOrString>$/m);
  });

  for (const version of [undefined, '1.27']) {
    // 1.27 explains from /openapi/v2 (protobuf), newer kubectl from /openapi/v3.
    it(`shows container resources as Quantity maps (kubectl ${version ?? 'default'})`, () => {
      const out = ok(['explain', 'pod.spec.containers.resources'], { version });
      assert.match(out, /^KIND:\s+Pod$/m);
      assert.match(out, /^FIELD: resources <ResourceRequirements>$/m);
      assert.match(out, /^ {2}limits\t<map\[string\]Quantity>$/m);
      assert.match(out, /^ {2}requests\t<map\[string\]Quantity>$/m);
    });
  }

  it('explains a Lodge kind', () => {
    const out = ok(['explain', 'instances']);
    assert.match(out, /^GROUP:\s+lodge\.dev$/m);
    assert.match(out, /^KIND:\s+Instance$/m);
    assert.match(out, /^VERSION:\s+v1alpha1$/m);
    assert.match(out, /^ {2}spec\t</m);
  });

  it('names an unknown field', () => {
    const r = runKubectl(L(), ['explain', 'deployment.spec.nosuchfield']);
    assert.notEqual(r.code, 0, describeRun(r));
    assert.match(r.stderr, /nosuchfield/, describeRun(r));
  });
});

it('no request answered 500', () => {
  assert.deepEqual(requestFailures(L()), []);
});
