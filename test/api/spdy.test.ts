// SPDY/3.1 framing, header compression and sessions (src/api/spdy), over
// real loopback sockets where backpressure matters.
import assert from 'node:assert/strict';
import { createServer, connect, type Socket } from 'node:net';
import { after, describe, it } from 'node:test';
import { inflateSync } from 'node:zlib';
import { SPDY3_DICTIONARY } from '../../src/api/spdy/dictionary.js';
import { encodeFrame, FrameReader, SpdyProtocolError, type Frame } from '../../src/api/spdy/frames.js';
import { decodeNameValues, encodeNameValues, HeaderCompressor, HeaderDecompressor } from '../../src/api/spdy/header-block.js';
import { DEFAULT_WINDOW, SpdyConnection } from '../../src/api/spdy/connection.js';
import type { SpdyStream } from '../../src/api/spdy/stream.js';

const sockets: Socket[] = [];
after(() => {
  for (const s of sockets) s.destroy();
});

/** Two ends of one loopback TCP connection. */
async function socketPair(): Promise<[Socket, Socket]> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  const accepted = new Promise<Socket>((resolve) => server.once('connection', resolve));
  const client = connect(port, '127.0.0.1');
  const s = await accepted;
  server.close();
  await new Promise((resolve) => client.once('connect', resolve));
  sockets.push(client, s);
  return [client, s];
}

async function sessionPair(o: { serverHonours?: boolean; clientHonours?: boolean } = {}): Promise<{ client: SpdyConnection; server: SpdyConnection; incoming: SpdyStream[]; next: () => Promise<SpdyStream> }> {
  const [a, b] = await socketPair();
  const incoming: SpdyStream[] = [];
  const waiters: Array<(s: SpdyStream) => void> = [];
  const server = new SpdyConnection(b, {
    role: 'server',
    honourPeerWindow: o.serverHonours ?? true,
    onStream: (s) => {
      // Streams still open when a test ends its connection fail with it; that is not what these tests look at.
      s.on('error', () => undefined);
      s.reply({ answered: 'yes' });
      const w = waiters.shift();
      if (w) w(s);
      else incoming.push(s);
    },
  });
  const client = new SpdyConnection(a, { role: 'client', honourPeerWindow: o.clientHonours ?? true });
  const next = (): Promise<SpdyStream> => (incoming.length ? Promise.resolve(incoming.shift()!) : new Promise((resolve) => waiters.push(resolve)));
  return { client, server, incoming, next };
}

function readAll(s: SpdyStream): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    s.on('data', (b: Buffer) => parts.push(b));
    s.once('end', () => resolve(Buffer.concat(parts)));
    s.once('error', reject);
    s.resume();
  });
}

/** Let queued I/O and callbacks run (a few event-loop turns, no timers). */
async function settle(turns = 50): Promise<void> {
  for (let i = 0; i < turns; i++) await new Promise((resolve) => setImmediate(resolve));
}

async function until(what: string, cond: () => boolean): Promise<void> {
  for (let i = 0; i < 2000 && !cond(); i++) await new Promise((resolve) => setTimeout(resolve, 5));
  assert.ok(cond(), `timed out waiting for ${what}`);
}

describe('SPDY/3 dictionary', () => {
  it('is the spec\'s: its Adler-32 is the DICTID a compressed block names', () => {
    assert.equal(SPDY3_DICTIONARY.length, 1423);
    const first = new HeaderCompressor().compress({ a: 'b' });
    // zlib header: CMF, FLG with FDICT (0x20), then the dictionary's Adler-32.
    assert.equal(first[1]! & 0x20, 0x20);
    assert.equal(first.readUInt32BE(2), 0xe3c6a7c2);
  });
});

describe('SPDY frames', () => {
  const frames: Frame[] = [
    { type: 'data', streamId: 3, fin: false, data: Buffer.from('hello') },
    { type: 'data', streamId: 0x7ffffffd, fin: true, data: Buffer.alloc(0) },
    { type: 'synStream', streamId: 1, associatedId: 0, priority: 5, fin: false, unidirectional: true, headerBlock: Buffer.from([1, 2, 3]) },
    { type: 'synReply', streamId: 1, fin: true, headerBlock: Buffer.from([9]) },
    { type: 'rstStream', streamId: 5, status: 5 },
    { type: 'settings', clear: false, entries: [{ flags: 1, id: 7, value: 1 << 20 }, { flags: 0, id: 4, value: 100 }] },
    { type: 'ping', id: 0xfffffffe },
    { type: 'goAway', lastGoodStreamId: 7, status: 1 },
    { type: 'headers', streamId: 9, fin: false, headerBlock: Buffer.from([4, 5]) },
    { type: 'windowUpdate', streamId: 0, delta: 0x7fffffff },
  ];

  it('round-trips every frame type, however the bytes are cut', () => {
    const wire = Buffer.concat(frames.map(encodeFrame));
    // All at once, and one byte at a time.
    assert.deepEqual(new FrameReader().push(wire), frames);
    const reader = new FrameReader();
    const got: Frame[] = [];
    for (const byte of wire) got.push(...reader.push(Buffer.of(byte)));
    assert.deepEqual(got, frames);
    assert.equal(reader.pending, 0);
  });

  it('lays out a control frame as the spec says', () => {
    const b = encodeFrame({ type: 'ping', id: 7 });
    assert.deepEqual([...b], [0x80, 0x03, 0x00, 0x06, 0x00, 0x00, 0x00, 0x04, 0, 0, 0, 7]);
    const d = encodeFrame({ type: 'data', streamId: 1, fin: true, data: Buffer.from('x') });
    assert.deepEqual([...d], [0, 0, 0, 1, 0x01, 0, 0, 1, 0x78]);
  });

  it('skips unknown control types and refuses other versions', () => {
    const unknown = Buffer.from([0x80, 0x03, 0x00, 0x0a, 0, 0, 0, 2, 1, 2]);
    assert.deepEqual(new FrameReader().push(unknown), [{ type: 'unknown', controlType: 10 }]);
    const v2 = Buffer.from([0x80, 0x02, 0x00, 0x06, 0, 0, 0, 4, 0, 0, 0, 1]);
    assert.throws(() => new FrameReader().push(v2), SpdyProtocolError);
  });
});

describe('SPDY header blocks', () => {
  it('encode names and values with their lengths, lower-case names', () => {
    const nv = encodeNameValues({ StreamType: 'error', port: '8080' });
    assert.equal(nv.readUInt32BE(0), 2);
    assert.deepEqual(decodeNameValues(nv), { streamtype: 'error', port: '8080' });
    assert.throws(() => decodeNameValues(nv.subarray(0, nv.length - 1)), SpdyProtocolError);
  });

  it('share one compression context per direction, in order', () => {
    const c = new HeaderCompressor();
    const d = new HeaderDecompressor();
    const blocks = [
      { streamtype: 'error', port: '8080', requestid: '0' },
      { streamtype: 'data', port: '8080', requestid: '0' },
      { streamtype: 'error', port: '8080', requestid: '1' },
    ];
    const wire = blocks.map((h) => c.compress(h));
    // Later blocks reuse the history: repeating the same names costs less.
    assert.ok(wire[2]!.length < wire[0]!.length, `${wire[2]!.length} < ${wire[0]!.length}`);
    assert.deepEqual(
      wire.map((w) => d.decompress(w)),
      blocks,
    );
    // One zlib stream with the dictionary, as any zlib reads it (Go's compress/zlib on the other end).
    const plain = inflateSync(Buffer.concat(wire), { dictionary: SPDY3_DICTIONARY, finishFlush: 2 /* Z_SYNC_FLUSH */ });
    assert.deepEqual(plain, Buffer.concat(blocks.map(encodeNameValues)));
    // A block out of its context cannot be read.
    assert.throws(() => new HeaderDecompressor().decompress(wire[1]!), SpdyProtocolError);
  });
});

describe('SPDY connection', () => {
  it('opens streams with headers, replies, and carries data both ways with half-close', async () => {
    const { client, server, next } = await sessionPair();
    const s = client.openStream({ streamType: 'data', port: '80' });
    const peer = await next();
    assert.deepEqual(peer.headers, { streamtype: 'data', port: '80' });
    assert.deepEqual(await s.replied, { answered: 'yes' });
    assert.equal(s.id % 2, 1);

    const fromClient = readAll(peer);
    s.end('request');
    // The client finished; the server still answers on the same stream.
    assert.equal((await fromClient).toString(), 'request');
    const fromServer = readAll(s);
    peer.end('response');
    assert.equal((await fromServer).toString(), 'response');
    await until('both streams gone', () => client.streamCount === 0 && server.streamCount === 0);

    // Several streams at once keep their data apart.
    const many = await Promise.all(
      [1, 2, 3].map(async (i) => {
        const c = client.openStream({ n: String(i) });
        c.end(`from ${i}`);
        return c;
      }),
    );
    const peers = [await next(), await next(), await next()];
    const got = await Promise.all(peers.map(async (p) => `${p.headers.n}:${(await readAll(p)).toString()}`));
    assert.deepEqual(got.sort(), ['1:from 1', '2:from 2', '3:from 3']);
    for (const p of peers) p.end();
    await Promise.all(many.map((c) => readAll(c)));

    await client.ping();
    await server.ping();
    client.close();
    assert.equal(await server.closed, undefined);
  });

  it('resets streams and says so to the other side', async () => {
    const { client, next } = await sessionPair();
    const s = client.openStream({ x: '1' });
    const peer = await next();
    const failed = new Promise<Error>((resolve) => s.once('error', resolve));
    peer.reset();
    assert.match((await failed).message, /reset by the peer \(status 5\)/);
    client.destroy();
  });

  it('refuses streams when nobody handles them', async () => {
    const [a, b] = await socketPair();
    const server = new SpdyConnection(b, { role: 'server' });
    const client = new SpdyConnection(a, { role: 'client' });
    const s = client.openStream({});
    const failed = new Promise<Error>((resolve) => s.once('error', resolve));
    await assert.rejects(s.replied, /status 3/);
    assert.match((await failed).message, /status 3/);
    client.destroy();
    await server.closed;
  });

  it('honours the peer\'s window: a writer waits until the reader consumes', async () => {
    const { client, next } = await sessionPair();
    const s = client.openStream({});
    s.on('error', () => undefined);
    const peer = await next();
    peer.pause();
    const payload = Buffer.alloc(4 * DEFAULT_WINDOW, 7);
    let written = false;
    s.write(payload, () => (written = true));
    await until('one window received', () => peer.readableLength === DEFAULT_WINDOW);
    await settle();
    // Nothing beyond the window came, and the write is still waiting for it to open.
    assert.equal(peer.readableLength, DEFAULT_WINDOW);
    assert.equal(written, false);
    const all = readAll(peer);
    s.end();
    assert.equal((await all).length, payload.length);
    assert.equal(written, true);
    client.destroy();
  });

  it('bounds what a peer that ignores the window can make it buffer', async () => {
    // The client ignores windows, as kubectl's SPDY stack does; the server stops reading its socket instead.
    const { client, next } = await sessionPair({ clientHonours: false });
    const s = client.openStream({});
    s.on('error', () => undefined);
    const peer = await next();
    peer.pause();
    // More than the kernel can hold in both sockets' buffers (tcp_rmem may autotune to 32 MiB, tcp_wmem to 4 MiB), so the writer must wait.
    const payload = Buffer.alloc(768 * DEFAULT_WINDOW, 1);
    let written = false;
    s.write(payload, () => (written = true));
    await until('the server to stop reading', () => peer.readableLength > 2 * DEFAULT_WINDOW);
    await settle();
    assert.ok(peer.readableLength <= 3 * DEFAULT_WINDOW, `buffered ${peer.readableLength}`);
    assert.equal(written, false, 'the writer is held back by the socket');
    const all = readAll(peer);
    s.end();
    assert.equal((await all).length, payload.length);
    client.destroy();
  });

  it('ends with a protocol error on garbage, failing open streams', async () => {
    const [a, b] = await socketPair();
    const server = new SpdyConnection(b, {
      role: 'server',
      onStream: (s) => {
        s.on('error', () => undefined);
        s.reply();
      },
    });
    const client = new SpdyConnection(a, { role: 'client' });
    const s = client.openStream({});
    await s.replied;
    const failed = new Promise<Error>((resolve) => s.once('error', resolve));
    a.write(Buffer.from([0x80, 0x02, 0x00, 0x01, 0, 0, 0, 0]));
    assert.match(String((await server.closed)?.message), /unsupported SPDY version 2/);
    assert.match((await failed).message, /connection ended/);
  });
});
