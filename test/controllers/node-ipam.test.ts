// The node IPAM controller's choice of a node's /24: the first one free,
// past the /24s other nodes hold and any range set by hand that overlaps.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatCidr, parseCidr } from '../../src/agent/network/cidr.js';
import { nextNodeCidr } from '../../src/controllers/node-ipam-controller.js';

test('nextNodeCidr skips what is taken, by /24 or by an overlapping range, and says when nothing is left', () => {
  const cluster = parseCidr('10.1.0.0/22');
  const next = (used: string[]): string | undefined => {
    const c = nextNodeCidr(cluster, used.map(parseCidr));
    return c ? formatCidr(c) : undefined;
  };
  assert.equal(next([]), '10.1.0.0/24');
  assert.equal(next(['10.1.0.0/24', '10.1.2.0/24']), '10.1.1.0/24');
  assert.equal(next(['10.1.0.0/23']), '10.1.2.0/24', 'a /23 set by hand covers two');
  assert.equal(next(['10.1.0.0/24', '10.1.1.128/25']), '10.1.2.0/24', 'a smaller range inside a /24 takes it');
  assert.equal(next(['10.1.0.0/24', '10.1.1.0/24', '10.1.2.0/24', '10.1.3.0/24']), undefined);
});
