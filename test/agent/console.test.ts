// The pieces of `lodge console` that need no running instance: socat's hex
// dump as conmon's message framing, the ctrl-a escape, reading console logs
// (raw for VMs, CRI lines of a terminal for system containers).
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { HexDumpReader } from '../../src/agent/drivers/container/console.js';
import { openConsoleLog } from '../../src/agent/console/console-log.js';
import { CriParser } from '../../src/agent/logs/cri.js';
import { EscapeFilter } from '../../src/cli/console.js';

test('socat -x dump: each message from the socket, its stream byte dropped; our own input and socat notices skipped', () => {
  const got: string[] = [];
  const notices: string[] = [];
  const r = new HexDumpReader((b) => got.push(b.toString('latin1')), (l) => notices.push(l));
  const dump = [
    '2026/11/24 00:36:13 socat[1] N starting data transfer loop with FDs [0,1] and [5,5]',
    '> 2026/11/24 00:36:13.000533759  length=3 from=0 to=2',
    ' 6c 73 0a',
    '< 2026/11/24 00:36:13.000533759  length=4 from=0 to=3',
    ' 02 68 02 0a',
    '< 2026/11/24 00:36:13.000533759  length=3 from=4 to=6',
    ' 02 34 32',
    '',
  ].join('\n');
  // Split at an awkward place: lines arrive in pieces.
  r.push(dump.slice(0, 130));
  r.push(dump.slice(130));
  assert.deepEqual(got, ['h\x02\n', '42']);
  assert.match(notices[0]!, /starting data transfer loop/);
});

test('ctrl-a q detaches, ctrl-a ctrl-a is one ctrl-a, across chunks', () => {
  const f = new EscapeFilter();
  assert.deepEqual(f.push(Buffer.from('ls\n')), { send: Buffer.from('ls\n'), detach: false });
  assert.deepEqual(f.push(Buffer.from('a\x01')), { send: Buffer.from('a'), detach: false });
  assert.deepEqual(f.push(Buffer.from('\x01b\x01x')), { send: Buffer.from('\x01b\x01x'), detach: false });
  assert.deepEqual(f.push(Buffer.from('c\x01qignored')), { send: Buffer.from('c'), detach: true });
});

test('CRI records whose message ends in \\r (a terminal) parse', () => {
  const p = new CriParser();
  const lines = p.push(Buffer.from('2026-01-01T00:00:00.000000000+00:00 stdout F hello\r\n2026-01-01T00:00:00.000000000+00:00 stdout P / # \n'));
  assert.deepEqual(lines.map((l) => l.message), ['hello\r']);
  assert.deepEqual(p.flush().map((l) => l.message), ['/ # ']);
});

test('console logs: a VM raw, a system container by message without \\r; tailLines; none yet', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'lodge-conlog-'));
  try {
    const signal = new AbortController().signal;
    const read = async (file: string, type: 'vm' | 'container', tailLines?: number): Promise<string> => {
      let out = '';
      for await (const c of await openConsoleLog(file, type, { follow: false, tailLines, signal })) out += c;
      return out;
    };
    writeFileSync(join(dir, 'vm.log'), 'one\r\ntwo\r\n/ # ');
    assert.equal(await read(join(dir, 'vm.log'), 'vm'), 'one\r\ntwo\r\n/ # ');
    assert.equal(await read(join(dir, 'vm.log'), 'vm', 2), 'two\r\n/ # ');
    writeFileSync(join(dir, 'ct.log'), ['2026-01-01T00:00:00Z stdout F lodge: booted x\r', '2026-01-01T00:00:00Z stdout P / # ', ''].join('\n'));
    assert.equal(await read(join(dir, 'ct.log'), 'container'), 'lodge: booted x\n/ # ');
    await assert.rejects(read(join(dir, 'none.log'), 'vm'), /no console log/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
