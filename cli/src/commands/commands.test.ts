import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { encodeFrame } from '../client/frames.js';
import { FakeDaemon } from '../testing/fake-daemon.js';
import { berth } from '../testing/run-berth.js';

let d: FakeDaemon;
let configDir: string;
beforeEach(async () => {
  d = await new FakeDaemon().listen();
  configDir = mkdtempSync(join(tmpdir(), 'cli-config-'));
});
afterEach(async () => {
  await d.close();
  rmSync(configDir, { recursive: true, force: true });
});

const ID = 'c0ffee'.padEnd(64, '0');

function containerRoutes(status: number, output: Buffer[]) {
  d.reply('POST', /^\/containers\/create$/, 201, { Id: ID, Warnings: [] });
  let attached: import('node:net').Socket | undefined;
  d.onUpgrade(new RegExp(`^/containers/${ID}/attach$`), (_req, socket) => {
    attached = socket;
  });
  let release: () => void = () => {};
  const exited = new Promise<void>((r) => {
    release = r;
  });
  d.on('POST', new RegExp(`^/containers/${ID}/wait$`), async (_req, res) => {
    await exited;
    d.json(res, 200, { StatusCode: status });
  });
  d.on('POST', new RegExp(`^/containers/${ID}/start$`), (_req, res) => {
    d.json(res, 204, undefined);
    for (const o of output) attached?.write(o);
    attached?.end();
    release();
  });
}

describe('berth run', () => {
  it('attaches before start, demultiplexes output and exits with the container status', async () => {
    containerRoutes(3, [encodeFrame(1, 'to stdout\n'), encodeFrame(2, 'to stderr\n')]);
    const r = await berth(d.host, ['run', '--rm', 'busybox', 'sh', '-c', 'exit 3']);
    expect(r).toEqual({ status: 3, out: 'to stdout\n', err: 'to stderr\n' });
    const seq = d.requests.filter((q) => q.path !== '/_ping').map((q) => `${q.method} ${q.path}`);
    expect(seq.indexOf(`POST /containers/${ID}/attach`)).toBeLessThan(seq.indexOf(`POST /containers/${ID}/start`));
    const create = d.requests.find((q) => q.path === '/containers/create');
    expect(JSON.parse(create?.body ?? '{}')).toMatchObject({ Image: 'busybox', Cmd: ['sh', '-c', 'exit 3'], HostConfig: { AutoRemove: true } });
    expect(d.requests.find((q) => q.path.endsWith('/wait'))?.query.get('condition')).toBe('removed');
  });

  it('does not hang when the output ends before start returns', async () => {
    d.reply('POST', /^\/containers\/create$/, 201, { Id: ID });
    d.reply('POST', /\/wait$/, 200, { StatusCode: 0 });
    let attached: import('node:net').Socket | undefined;
    d.onUpgrade(/attach$/, (_req, socket) => {
      attached = socket;
    });
    d.on('POST', /\/start$/, async (_req, res) => {
      attached?.end(encodeFrame(1, 'quick\n'));
      await new Promise((r) => setTimeout(r, 100));
      d.json(res, 204, undefined);
    });
    expect(await berth(d.host, ['run', 'busybox', 'echo', 'quick'])).toEqual({ status: 0, out: 'quick\n', err: '' });
  });

  it('pulls a missing image, then creates', async () => {
    containerRoutes(0, []);
    let creates = 0;
    d.on('POST', /^\/containers\/create$/, (_req, res) => {
      creates++;
      if (creates === 1) d.json(res, 404, { message: 'No such image: busybox:latest' });
      else d.json(res, 201, { Id: ID });
    });
    d.on('POST', /^\/images\/create$/, (_req, res) => {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end('{"status":"Pulling from library/busybox","id":"latest"}\r\n{"status":"Status: Downloaded newer image for busybox:latest"}\r\n');
    });
    const r = await berth(d.host, ['run', 'busybox']);
    expect(r.status).toBe(0);
    expect(r.err).toContain("Unable to find image 'busybox:latest' locally\n");
    expect(r.err).toContain('Status: Downloaded newer image for busybox:latest\n');
    const pull = d.requests.find((q) => q.path === '/images/create');
    expect([pull?.query.get('fromImage'), pull?.query.get('tag')]).toEqual(['busybox', 'latest']);
  });

  it('exits 127 when the command is not found, 125 on a daemon error', async () => {
    d.reply('POST', /^\/containers\/create$/, 201, { Id: ID });
    d.onUpgrade(/attach$/, () => {});
    d.reply('POST', /\/wait$/, 200, { StatusCode: 127 });
    d.reply('POST', /\/start$/, 400, { message: 'failed to create task: exec: "nosuch": executable file not found in $PATH' });
    const r = await berth(d.host, ['run', 'busybox', 'nosuch']);
    expect(r.status).toBe(127);
    expect(r.err).toMatch(/^berth: Error response from daemon: failed to create task: exec: "nosuch": executable file not found/);
    d.reply('POST', /^\/containers\/create$/, 409, { message: 'Conflict. The container name "/x" is already in use' });
    const r2 = await berth(d.host, ['run', '--name', 'x', 'busybox']);
    expect(r2.status).toBe(125);
    expect(r2.err).toContain('Error response from daemon: Conflict.');
  });

  it('-d prints the ID; -it without a terminal is refused before anything is created', async () => {
    d.reply('POST', /^\/containers\/create$/, 201, { Id: ID });
    d.reply('POST', /\/start$/, 204, undefined);
    expect(await berth(d.host, ['run', '-d', 'busybox', 'sleep', '9'])).toEqual({ status: 0, out: `${ID}\n`, err: '' });
    const before = d.requests.length;
    const r = await berth(d.host, ['run', '-it', 'busybox']);
    expect(r.status).toBe(1);
    expect(r.err).toContain('the input device is not a TTY');
    expect(d.requests.slice(before).some((q) => q.path === '/containers/create')).toBe(false);
  });
});

describe('other commands', () => {
  it('prints daemon errors as docker does and keeps going over several names', async () => {
    d.reply('DELETE', /^\/containers\/a$/, 204, undefined);
    d.reply('DELETE', /^\/containers\/nope$/, 404, { message: 'No such container: nope' });
    const r = await berth(d.host, ['rm', '-f', 'nope', 'a']);
    expect(r).toEqual({ status: 1, out: 'a\n', err: 'Error response from daemon: No such container: nope\n' });
    expect(d.requests.find((q) => q.path === '/containers/a')?.query.get('force')).toBe('1');
  });

  it('reports usage errors with exit status 125 and sends nothing', async () => {
    const r = await berth(d.host, ['ps', '--bogus']);
    expect(r.status).toBe(125);
    expect(r.err).toContain("Unknown argument: bogus\nSee 'berth ps --help'.");
    expect(d.requests.filter((q) => q.path !== '/_ping')).toEqual([]);
  });

  it('logs: demultiplexes unless the container has a TTY', async () => {
    d.reply('GET', /^\/containers\/c\/json$/, 200, { Id: ID, Config: { Tty: false } });
    d.on('GET', /^\/containers\/c\/logs$/, (_req, res) => {
      res.writeHead(200, { 'Content-Type': 'application/vnd.docker.multiplexed-stream' });
      res.end(Buffer.concat([encodeFrame(1, 'out\n'), encodeFrame(2, 'err\n')]));
    });
    const r = await berth(d.host, ['logs', '--tail', '5', 'c']);
    expect(r).toEqual({ status: 0, out: 'out\n', err: 'err\n' });
    expect(d.requests.find((q) => q.path.endsWith('/logs'))?.query.get('tail')).toBe('5');
  });

  it('login stores base64 credentials in config.json with mode 0600; logout removes them', async () => {
    d.reply('POST', /^\/auth$/, 200, { Status: 'Login Succeeded' });
    const r = await berth(d.host, ['login', '-u', 'alice', '--password-stdin', '127.0.0.1:5000'], { configDir, stdin: 's3cret\n' });
    expect(r.status).toBe(0);
    expect(r.out).toBe('Login Succeeded\n');
    expect(JSON.parse(d.requests.find((q) => q.path === '/auth')?.body ?? '')).toEqual({ username: 'alice', password: 's3cret', serveraddress: '127.0.0.1:5000' });
    const file = join(configDir, 'config.json');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(JSON.parse(readFileSync(file, 'utf8')).auths['127.0.0.1:5000'].auth).toBe(Buffer.from('alice:s3cret').toString('base64'));
    const out = await berth(d.host, ['logout', '127.0.0.1:5000'], { configDir });
    expect(out.out).toBe('Removing login credentials for 127.0.0.1:5000\n');
    expect(JSON.parse(readFileSync(file, 'utf8')).auths).toEqual({});
  });

  it('pull sends stored credentials and prints the full reference', async () => {
    d.reply('POST', /^\/auth$/, 200, { Status: 'Login Succeeded' });
    await berth(d.host, ['login', '-u', 'bob', '--password-stdin', '127.0.0.1:5000'], { configDir, stdin: 'pw' });
    d.on('POST', /^\/images\/create$/, (_req, res) => {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end('{"status":"Pulling fs layer","id":"abc"}\n{"status":"Pull complete","id":"abc"}\n');
    });
    const r = await berth(d.host, ['pull', '127.0.0.1:5000/cli/app:v2'], { configDir });
    expect(r.out).toBe('abc: Pulling fs layer\nabc: Pull complete\n127.0.0.1:5000/cli/app:v2\n');
    const req = d.requests.find((q) => q.path === '/images/create');
    const auth = JSON.parse(Buffer.from(String(req?.headers['x-registry-auth']), 'base64url').toString());
    expect(auth).toEqual({ username: 'bob', password: 'pw', serveraddress: '127.0.0.1:5000' });
    expect([req?.query.get('fromImage'), req?.query.get('tag')]).toEqual(['127.0.0.1:5000/cli/app', 'v2']);
  });

  it('pull reports a stream error as a failure', async () => {
    d.on('POST', /^\/images\/create$/, (_req, res) => {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end('{"errorDetail":{"message":"manifest unknown"},"error":"manifest unknown"}\n');
    });
    const r = await berth(d.host, ['pull', 'nosuch']);
    expect(r.status).toBe(1);
    expect(r.err).toBe('manifest unknown\n');
  });

  it('completion scripts name the commands and ask the daemon for names', async () => {
    const bash = await berth(d.host, ['completion', 'bash']);
    expect(bash.out).toContain('complete -F _berth berth');
    expect(bash.out).toContain('berth __names "$kind"');
    const zsh = await berth(d.host, ['completion', 'zsh']);
    expect(zsh.out).toContain('#compdef berth');
    d.reply('GET', /^\/containers\/json$/, 200, [{ Names: ['/cli-a'], State: 'running' }, { Names: ['/cli-b'], State: 'exited' }]);
    expect((await berth(d.host, ['__names', 'running'])).out).toBe('cli-a\n');
    expect((await berth(d.host, ['__names', 'containers'])).out).toBe('cli-a\ncli-b\n');
  });

  it('runs nested subcommands and reports their errors', async () => {
    d.reply('GET', /^\/volumes$/, 200, { Volumes: [{ Name: 'cli-v', Driver: 'local' }], Warnings: [] });
    expect(await berth(d.host, ['volume', 'ls', '-q'])).toEqual({ status: 0, out: 'cli-v\n', err: '' });
    d.reply('GET', /^\/networks$/, 500, { message: 'network store unavailable' });
    expect(await berth(d.host, ['network', 'ls'])).toEqual({ status: 1, out: '', err: 'Error response from daemon: network store unavailable\n' });
    d.reply('DELETE', /^\/volumes\/a$/, 204, undefined);
    d.reply('DELETE', /^\/volumes\/b$/, 409, { message: 'volume is in use' });
    expect(await berth(d.host, ['volume', 'rm', 'a', 'b'])).toEqual({ status: 1, out: 'a\n', err: 'Error response from daemon: volume is in use\n' });
  });

  it('load refuses a missing file before contacting the daemon', async () => {
    const r = await berth(d.host, ['load', '-i', '/nonexistent/cli-image.tar']);
    expect(r).toEqual({ status: 1, out: '', err: 'open /nonexistent/cli-image.tar: no such file or directory\n' });
    expect(d.requests.some((q) => q.path === '/images/load')).toBe(false);
  });

  it('ps and images take their default format from config.json', async () => {
    const { writeFileSync } = await import('node:fs');
    writeFileSync(join(configDir, 'config.json'), JSON.stringify({ psFormat: '{{.Names}}/{{.State}}', imagesFormat: 'table {{.Repository}}' }));
    d.reply('GET', /^\/containers\/json$/, 200, [{ Id: ID, Names: ['/cli-a'], State: 'running', Created: 0 }]);
    d.reply('GET', /^\/images\/json$/, 200, [{ Id: `sha256:${ID}`, RepoTags: ['busybox:latest'], Created: 0, Size: 1 }]);
    expect((await berth(d.host, ['ps'], { configDir })).out).toBe('cli-a/running\n');
    expect((await berth(d.host, ['ps', '--format', '{{.ID}}'], { configDir })).out).toBe(`${ID.slice(0, 12)}\n`);
    expect((await berth(d.host, ['images'], { configDir })).out).toBe('REPOSITORY\nbusybox\n');
  });

  it('exec -it without a terminal is refused before anything is created', async () => {
    const r = await berth(d.host, ['exec', '-it', 'cli-x', 'sh']);
    expect(r).toEqual({ status: 1, out: '', err: 'the input device is not a TTY\n' });
    expect(d.requests.filter((q) => q.path !== '/_ping')).toEqual([]);
  });

  it('inspect tries each object type and applies --format', async () => {
    d.reply('GET', /^\/containers\/vol1\/json$/, 404, { message: 'No such container: vol1' });
    d.reply('GET', /^\/images\/vol1\/json$/, 404, { message: 'No such image: vol1' });
    d.reply('GET', /^\/volumes\/vol1$/, 200, { Name: 'vol1', Driver: 'local', Mountpoint: '/m' });
    const r = await berth(d.host, ['inspect', '-f', '{{.Driver}} {{.Mountpoint}}', 'vol1']);
    expect(r).toEqual({ status: 0, out: 'local /m\n', err: '' });
  });
});
