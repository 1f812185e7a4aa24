// kubectl's STATUS column for Pods with init containers, as the server-side
// table computes it (the kubelet's states in, kubectl's words out).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { summarizePod } from '../../src/apis/core/v1/pod-table.js';
import type { Pod } from '../../src/apis/core/v1/types.js';

const pod = (initStates: object[], appState: object, phase = 'Pending'): Pod => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name: 'p' },
  spec: { initContainers: initStates.map((_, i) => ({ name: `i${i}` })), containers: [{ name: 'c' }] },
  status: {
    phase,
    initContainerStatuses: initStates.map((state, i) => ({ name: `i${i}`, state, restartCount: 0 })),
    containerStatuses: [{ name: 'c', state: appState, restartCount: 0 }],
  },
});

const done = { terminated: { exitCode: 0, reason: 'Completed' } };
const initializing = { waiting: { reason: 'PodInitializing' } };

describe('pod table with init containers', () => {
  it('counts completed init containers', () => {
    assert.equal(summarizePod(pod([{ running: {} }, initializing], initializing), 0).status, 'Init:0/2');
    assert.equal(summarizePod(pod([done, { running: {} }], initializing), 0).status, 'Init:1/2');
  });
  it('shows why an init container is not done', () => {
    assert.equal(summarizePod(pod([{ terminated: { exitCode: 2, reason: 'Error' } }], initializing, 'Failed'), 0).status, 'Init:Error');
    assert.equal(summarizePod(pod([{ waiting: { reason: 'CrashLoopBackOff' } }], initializing), 0).status, 'Init:CrashLoopBackOff');
    assert.equal(summarizePod(pod([{ terminated: { exitCode: 3 } }], initializing), 0).status, 'Init:ExitCode:3');
  });
  it('shows PodInitializing between the last init container and the first app start', () => {
    assert.equal(summarizePod(pod([done], initializing), 0).status, 'PodInitializing');
    assert.equal(summarizePod(pod([done], { running: {} }, 'Running'), 0).status, 'Running');
  });
});
