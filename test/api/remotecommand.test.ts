// Pieces of the remote command protocol that need no node: terminal sizes as
// a SPDY resize stream carries them (split anywhere, one JSON per line), and
// the SPDY exec version negotiation, which follows the client's order.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseTerminalSize, TerminalSizeDecoder, type TerminalSize } from '../../src/api/remotecommand/terminal-size.js';
import { chooseSpdyExecProtocol } from '../../src/api/remotecommand/spdy-exec.js';

function decode(chunks: string[]): { sizes: TerminalSize[]; bad: string[] } {
  const sizes: TerminalSize[] = [];
  const bad: string[] = [];
  const d = new TerminalSizeDecoder((s) => sizes.push(s), (t) => bad.push(t));
  for (const c of chunks) d.push(Buffer.from(c));
  d.end();
  return { sizes, bad };
}

describe('terminal sizes', () => {
  it('reads one size, and refuses what is not one', () => {
    assert.deepEqual(parseTerminalSize('{"Width":80,"Height":24}'), { width: 80, height: 24 });
    assert.equal(parseTerminalSize('{"Width":"80","Height":24}'), undefined);
    assert.equal(parseTerminalSize('null'), undefined);
    assert.equal(parseTerminalSize('{'), undefined);
  });

  it('cuts a stream of sizes at newlines, whatever the chunks', () => {
    const wire = '{"Width":80,"Height":24}\n{"Width":123,"Height":45}\n';
    const want = [
      { width: 80, height: 24 },
      { width: 123, height: 45 },
    ];
    for (let cut = 0; cut <= wire.length; cut++) assert.deepEqual(decode([wire.slice(0, cut), wire.slice(cut)]), { sizes: want, bad: [] }, `cut at ${cut}`);
  });

  it('keeps a last size without its newline, and reports garbage without stopping', () => {
    assert.deepEqual(decode(['nope\n{"Width":1,', '"Height":2}']), { sizes: [{ width: 1, height: 2 }], bad: ['nope'] });
  });

  it('drops an endless line instead of holding it, up to its newline', () => {
    const long = 'x'.repeat(5000);
    const rest = decode([long, '{"Width":3,"Height":4}\n']);
    assert.equal(rest.bad.length, 1);
    assert.deepEqual(rest.sizes, [], 'what follows is still that line');
    const next = decode([long, 'yy\n{"Width":3,"Height":4}\n']);
    assert.equal(next.bad.length, 1);
    assert.deepEqual(next.sizes, [{ width: 3, height: 4 }]);
  });
});

describe('SPDY exec protocol negotiation', () => {
  it("takes the first of the client's versions it speaks", () => {
    assert.equal(chooseSpdyExecProtocol(['v4.channel.k8s.io', 'v3.channel.k8s.io', 'v2.channel.k8s.io', 'channel.k8s.io']), 'v4.channel.k8s.io');
    assert.equal(chooseSpdyExecProtocol(['v5.channel.k8s.io', 'v2.channel.k8s.io', 'v4.channel.k8s.io']), 'v2.channel.k8s.io');
    assert.equal(chooseSpdyExecProtocol(['v9.channel.k8s.io']), undefined);
  });

  it('a client naming none speaks the first protocol', () => {
    assert.equal(chooseSpdyExecProtocol([]), 'channel.k8s.io');
  });
});
