import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseManifests, readManifests } from '../../src/cli/manifests.js';

test('multi-document YAML, Lists and JSON', () => {
  const text = `
apiVersion: v1
kind: ConfigMap
metadata: {name: a}
data:
  mode: "0644"
---
---
apiVersion: v1
kind: PodList
items:
- {apiVersion: v1, kind: Pod, metadata: {name: p1}}
- {apiVersion: v1, kind: Pod, metadata: {name: p2}}
`;
  const got = parseManifests(text, 'f.yaml').map((m) => `${m.object.kind}/${m.object.metadata.name}`);
  assert.deepEqual(got, ['ConfigMap/a', 'Pod/p1', 'Pod/p2']);
  const json = parseManifests(JSON.stringify({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'n' } }), 'n.json');
  assert.equal(json[0].object.metadata.name, 'n');
});

test('YAML is read as kubectl reads it: 1.1 octals and booleans, timestamps as strings', () => {
  const [m] = parseManifests('apiVersion: v1\nkind: Pod\nmetadata:\n  name: x\n  creationTimestamp: 2026-01-01T00:00:00Z\nspec:\n  mode: 0644\n  flag: on\n', 'x');
  assert.equal(m.object.spec?.mode, 420);
  assert.equal(m.object.spec?.flag, true);
  assert.equal(m.object.metadata.creationTimestamp, '2026-01-01T00:00:00Z');
});

test('invalid manifests are reported with file and document', () => {
  assert.throws(() => parseManifests('kind: Pod\nmetadata: {name: x}\n', 'bad.yaml'), /error validating "bad.yaml" \(document 1\): error validating data: \[apiVersion not set\]/);
  assert.throws(() => parseManifests('a: [1\n', 'broken.yaml'), /error parsing broken.yaml/);
  assert.throws(() => parseManifests('- 1\n- 2\n', 'list.yaml'), /expected an object, got a list/);
});

test('directories: manifest files in name order, recursive only with -R', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'lodge-manifests-'));
  try {
    const doc = (name: string): string => `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: ${name}}\n`;
    await writeFile(join(dir, 'b.yaml'), doc('b'));
    await writeFile(join(dir, 'a.yml'), doc('a'));
    await writeFile(join(dir, 'notes.txt'), 'ignored');
    await mkdir(join(dir, 'sub'));
    await writeFile(join(dir, 'sub', 'c.json'), JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c' } }));
    assert.deepEqual((await readManifests([dir])).map((m) => m.object.metadata.name), ['a', 'b']);
    assert.deepEqual((await readManifests([dir], true)).map((m) => m.object.metadata.name), ['a', 'b', 'c']);
    await assert.rejects(readManifests([join(dir, 'missing.yaml')]), /does not exist/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
