import { PassThrough } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { FakeDaemon } from '../testing/fake-daemon.js';
import { ConnectError, DaemonError, EngineClient, encodeQuery, parseHost } from './engine.js';
import { demultiplex, encodeFrame, FrameDecoder } from './frames.js';
import { JsonStreamParser } from './jsonstream.js';

describe('frame decoder', () => {
  it('reassembles frames however the bytes are split', () => {
    const wire = Buffer.concat([encodeFrame(1, 'hello '), encodeFrame(2, 'oops\n'), encodeFrame(1, 'world\n'), encodeFrame(1, '')]);
    for (let step = 1; step <= wire.length; step++) {
      const d = new FrameDecoder();
      const got: string[] = [];
      for (let i = 0; i < wire.length; i += step) for (const f of d.push(wire.subarray(i, i + step))) got.push(`${f.stream}:${f.data}`);
      expect(got).toEqual(['1:hello ', '2:oops\n', '1:world\n', '1:']);
      expect(d.leftover).toBe(0);
    }
  });

  it('rejects a stream that is not multiplexed', () => {
    expect(() => new FrameDecoder().push(Buffer.from('plain text output'))).toThrow(/malformed stream frame header/);
  });

  it('demultiplexes onto stdout and stderr', async () => {
    const src = new PassThrough();
    const out = new PassThrough();
    const err = new PassThrough();
    const done = demultiplex(src, out, err);
    src.end(Buffer.concat([encodeFrame(1, 'o'), encodeFrame(2, 'e'), encodeFrame(3, 'bad')]));
    await done;
    expect(out.read().toString()).toBe('o');
    expect(err.read().toString()).toBe('eError: bad\n');
  });
});

describe('json message stream', () => {
  it('splits concatenated and chunked objects, braces inside strings included', () => {
    const p = new JsonStreamParser<any>();
    expect(p.push('{"status":"a {"}\r\n{"id":"1",')).toEqual([{ status: 'a {' }]);
    expect(p.push('"status":"b"}{"x":[1,{"y":"}"}]}')).toEqual([{ id: '1', status: 'b' }, { x: [1, { y: '}' }] }]);
    expect(p.rest).toBe('');
  });
});

describe('engine client', () => {
  let daemon: FakeDaemon | undefined;
  afterEach(async () => {
    await daemon?.close();
    daemon = undefined;
  });

  it('parses hosts and encodes queries', () => {
    expect(parseHost('unix:///run/berth/berthd.sock')).toEqual({ socketPath: '/run/berth/berthd.sock' });
    expect(parseHost('tcp://127.0.0.1:2376')).toEqual({ host: '127.0.0.1', port: 2376 });
    expect(() => parseHost('ftp://x')).toThrow(/invalid host "ftp:\/\/x"/);
    expect(encodeQuery({ a: '1', b: undefined, c: ['x', 'y z'] })).toBe('?a=1&c=x&c=y%20z');
  });

  it('negotiates down to the daemon API version and maps errors', async () => {
    daemon = await new FakeDaemon().listen();
    daemon.apiVersion = '1.41';
    daemon.reply('GET', /^\/containers\/json$/, 200, [{ Id: 'x' }]);
    daemon.reply('DELETE', /^\/containers\/nope$/, 404, { message: 'No such container: nope' });
    const c = new EngineClient(daemon.host);
    expect(await c.get('/containers/json', { all: '1' })).toEqual([{ Id: 'x' }]);
    expect(await c.apiVersion()).toBe('1.41');
    const err = await c.delete('/containers/nope').catch((e) => e);
    expect(err).toBeInstanceOf(DaemonError);
    expect(err.statusCode).toBe(404);
    expect(err.message).toBe('No such container: nope');
    const paths = daemon.requests.map((r) => (r as any).url);
    expect(paths).toContain('/v1.41/containers/json?all=1');
  });

  it('keeps its own version when the daemon is newer', async () => {
    daemon = await new FakeDaemon().listen();
    daemon.apiVersion = '1.99';
    expect(await new EngineClient(daemon.host).apiVersion()).toBe('1.50');
  });

  it('reports an unreachable daemon', async () => {
    const err = await new EngineClient('unix:///nonexistent/cli-test.sock').get('/info').catch((e) => e);
    expect(err).toBeInstanceOf(ConnectError);
    expect(err.message).toBe('Cannot connect to the berth daemon at unix:///nonexistent/cli-test.sock. Is the daemon running?');
  });

  it('hands over output that came with the upgrade response', async () => {
    daemon = await new FakeDaemon().listen();
    daemon.onUpgrade(/\/attach$/, (_req, socket) => socket.end(encodeFrame(1, 'early')));
    const conn = await new EngineClient(daemon.host).upgrade('/containers/x/attach');
    await new Promise((r) => setTimeout(r, 100));
    const d = new FrameDecoder();
    const frames = [...d.push(conn.head ?? Buffer.alloc(0))];
    conn.socket.on('data', (c: Buffer) => frames.push(...d.push(c)));
    await new Promise((r) => (conn.socket.destroyed ? r(undefined) : conn.socket.on('close', r)));
    expect(frames.map((f) => f.data.toString()).join('')).toBe('early');
  });

  it('upgrades attach connections both ways', async () => {
    daemon = await new FakeDaemon().listen();
    daemon.onUpgrade(/\/attach$/, (_req, socket) => {
      socket.on('data', (d) => socket.write(encodeFrame(1, `echo:${d}`)));
      socket.on('end', () => socket.end(encodeFrame(2, 'bye')));
    });
    const { socket } = await new EngineClient(daemon.host).upgrade('/containers/x/attach', { query: { stream: '1' } });
    const d = new FrameDecoder();
    const got: string[] = [];
    socket.on('data', (c: Buffer) => got.push(...d.push(c).map((f) => `${f.stream}:${f.data}`)));
    socket.write('hi');
    await new Promise((r) => setTimeout(r, 50));
    socket.end();
    await new Promise((r) => socket.on('close', r));
    expect(got).toEqual(['1:echo:hi', '2:bye']);
  });
});
