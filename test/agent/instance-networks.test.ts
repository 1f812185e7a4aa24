// An Instance's interfaces from spec.networks: the default one, none for [],
// several networks in order, and what a node cannot make refused with the
// field named (before anything is attached).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Instance, InstanceNetwork } from '../../src/apis/lodge/v1alpha1/instance-types.js';
import { InstanceNotReadyError } from '../../src/agent/instances/container-instance.js';
import { attachContainerNetworks, checkInterfaces, hasInterfaces, interfacesOf } from '../../src/agent/instances/instance-networks.js';

const inst = (type: 'vm' | 'container', networks?: InstanceNetwork[]): Instance => ({ apiVersion: 'lodge.dev/v1alpha1', kind: 'Instance', metadata: { name: 'v', uid: 'u1', namespace: 'default' }, spec: { type, ...(networks ? { networks } : {}) } });
const notReady = (reason: string, message: RegExp) => (e: unknown): boolean => e instanceof InstanceNotReadyError && e.reason === reason && message.test(e.message);

test('interfaces: eth0 on the default network when unset, none for [], in order with the first primary', () => {
  assert.deepEqual(interfacesOf(inst('vm')), [{ index: 0, name: 'eth0', network: 'default', primary: true }], 'an Instance stored before networks were defaulted still gets one');
  assert.equal(hasInterfaces(inst('container', [])), false);
  assert.deepEqual(interfacesOf(inst('vm', [{ name: 'lan', network: 'default', macAddress: '52:54:00:12:34:56', ipAddress: '10.1.2.3' }, { name: 'eth1', network: 'storage' }])), [
    { index: 0, name: 'lan', network: 'default', macAddress: '52:54:00:12:34:56', ipAddress: '10.1.2.3', primary: true },
    { index: 1, name: 'eth1', network: 'storage', primary: false },
  ]);
});

test('two interfaces on the default network, or a container whose default-network interface is not the first eth0, are refused naming the field', () => {
  assert.throws(() => checkInterfaces(inst('vm', [{ name: 'eth0' }, { name: 'eth1' }])), notReady('NetworkNotSupported', /^spec\.networks\[1\]\.network: only one interface/));
  assert.throws(() => checkInterfaces(inst('container', [{ name: 'eth0', network: 'lab' }, { name: 'eth1', network: 'default' }])), notReady('NetworkNotSupported', /^spec\.networks\[1\]: .*first one and named eth0/));
  // A VM may have its default-network NIC anywhere: the guest finds NICs by MAC.
  assert.equal(checkInterfaces(inst('vm', [{ name: 'eth0', network: 'lab' }, { name: 'eth1', network: 'default' }])).length, 2);
});

test('a network that does not exist is named in the error', async () => {
  await assert.rejects(
    attachContainerNetworks(inst('container', [{ name: 'eth0', network: 'nowhere' }]), '/nonexistent', { network: () => undefined }),
    notReady('NetworkNotFound', /^spec\.networks\[0\]\.network: network "nowhere" does not exist/),
  );
});
