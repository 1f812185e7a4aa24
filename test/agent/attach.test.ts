// pods/attach's pieces that need no container: conmon's flags for a Pod
// container's stdin, the stream each message of conmon's attach socket belongs
// to, and an attach session (ExecSession) over a fake node: input, its end,
// output by stream, hanging up detaches.
import assert from 'node:assert/strict';
import { PassThrough, Writable } from 'node:stream';
import { test } from 'node:test';
import { conmonArgs, type ConmonLaunch } from '../../src/agent/drivers/container/conmon.js';
import { HexDumpReader } from '../../src/agent/drivers/container/console.js';
import type { ExecProcess, NodeExec } from '../../src/agent/exec/node-exec.js';
import { ExecSession, type ExecRequest } from '../../src/api/remotecommand/exec-session.js';

const launch: ConmonLaunch = {
  conmonPath: 'conmon',
  runcPath: 'runc',
  runcRoot: '/run/r',
  id: 'p-x-c',
  cuuid: 'u',
  bundle: '/b',
  stateDir: '/s',
  exitDir: '/e',
  socketDir: '/k',
  logPath: '/l',
  containerPidFile: '/s/c.pid',
  conmonPidFile: '/s/m.pid',
  timeoutMs: 1000,
};

test('conmon: --stdin for a container with stdin; --leave-stdin-open unless stdinOnce; neither without', () => {
  const plain = conmonArgs(launch);
  assert.ok(!plain.includes('--stdin') && !plain.includes('--leave-stdin-open'));
  const once = conmonArgs({ ...launch, stdin: { once: true } });
  assert.ok(once.includes('--stdin') && !once.includes('--leave-stdin-open'));
  const open = conmonArgs({ ...launch, terminal: true, stdin: { once: false } });
  assert.ok(open.includes('--stdin') && open.includes('--leave-stdin-open') && open.includes('--terminal'));
});

test('socat -x dump: each message with its conmon stream (2 stdout, 3 stderr)', () => {
  const got: Array<[string, number]> = [];
  const r = new HexDumpReader((b, s) => got.push([b.toString('latin1'), s]), () => undefined);
  r.push(['< 2026/11/24 00:36:13.000533759  length=3 from=0 to=2', ' 02 6f 0a', '< 2026/11/24 00:36:13.000533759  length=3 from=3 to=5', ' 03 65 0a', ''].join('\n'));
  assert.deepEqual(got, [
    ['o\n', 2],
    ['e\n', 3],
  ]);
});

test('attach session: input and its end reach the process, output by stream, the end is a success; hanging up detaches', async () => {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let input = '';
  let inputEnded = false;
  let detached = 0;
  let finish!: () => void;
  const ended = new Promise<{ exitCode: number }>((res) => (finish = () => res({ exitCode: 0 })));
  const asked: unknown[] = [];
  const proc: ExecProcess = {
    stdin: new Writable({
      write(c: Buffer, _e, cb) {
        input += c.toString();
        cb();
      },
      final(cb) {
        inputEnded = true;
        cb();
      },
    }),
    stdout,
    stderr,
    resize: () => undefined,
    wait: () => ended,
    kill: () => void detached++,
  };
  const nodeExec: NodeExec = {
    exec: () => Promise.reject(new Error('attach must not exec')),
    attach: async (node, target, opts) => {
      asked.push({ node, target, opts });
      return proc;
    },
  };
  const x: ExecRequest = { pod: { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p' } }, target: { kind: 'pod', uid: 'u', container: 'c' }, nodeName: 'n', container: 'c', command: [], stdin: true, stdout: true, stderr: true, tty: false, attach: true };
  const session = new ExecSession(x, nodeExec);
  // Sent before the node answered: held, then replayed in order.
  session.stdin(Buffer.from('hi\n'));
  session.endStdin();
  const out: string[] = [];
  const running = session.run(async (stream, chunk) => void out.push(`${stream}:${chunk.toString()}`));
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(asked, [{ node: 'n', target: { kind: 'pod', uid: 'u', container: 'c' }, opts: { stdin: true } }]);
  assert.equal(input, 'hi\n');
  assert.ok(inputEnded);
  stdout.write('o');
  stderr.write('e');
  await new Promise((r) => setImmediate(r));
  stdout.end();
  stderr.end();
  finish();
  assert.deepEqual(await running, { exitCode: 0 });
  assert.deepEqual(out.sort(), ['stderr:e', 'stdout:o']);
  session.hangUp();
  assert.equal(detached, 1);
});
