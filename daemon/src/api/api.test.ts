// The API as the real docker CLI sees it, over fakes of berth-shimd (no root, no
// kernel): request parsing, status codes, messages, stream formats and the
// container lifecycle bookkeeping. The e2e suite runs the same paths for real.
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig, type DaemonConfig } from '../config.js';
import { assemble, serve } from '../daemon.js';
import type { Listener } from '../server.js';
import { FakeImages, FakeTasks } from '../testing/fakes.js';

const DOCKER = '/usr/local/bin/docker';

function run(sock: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(DOCKER, args, { env: { ...process.env, DOCKER_HOST: `unix://${sock}`, DOCKER_CONFIG: join(tmpdir(), 'daemon-unit-docker-config') } }, (err, stdout, stderr) =>
      resolve({ code: err ? ((err as any).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

function http(sock: string, method: string, path: string, body?: string, headers: Record<string, string> = {}): Promise<{ status: number; headers: Record<string, any>; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath: sock, method, path, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString() }));
    });
    req.on('error', reject);
    if (body !== undefined) req.end(body);
    else req.end();
  });
}

describe.skipIf(!existsSync(DOCKER))('berthd API through the docker CLI (fake shimd)', () => {
  let dir: string;
  let sock: string;
  let listeners: Listener[];
  let tasks: FakeTasks;
  let images: FakeImages;
  let imageId: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'daemon-api-'));
    sock = join(dir, 'berthd.sock');
    const config = parseConfig(['--host', `unix://${sock}`, '--data-root', join(dir, 'data'), '--cni-bin-dir', '']) as DaemonConfig;
    tasks = new FakeTasks();
    images = new FakeImages();
    imageId = images.add('docker.io/library/busybox:latest', {
      Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'],
      Cmd: ['sh'],
      Labels: { 'org.berth.fixture': 'busybox' },
    });
    const d = assemble(config, tasks, images);
    await d.containers.restore();
    listeners = await serve(d.app, config);
  });

  afterAll(async () => {
    await Promise.all((listeners ?? []).map((l) => l.close()));
    rmSync(dir, { recursive: true, force: true });
  });

  it('answers version, info and ping with Docker headers', async () => {
    const v = await run(sock, ['version', '--format', '{{.Server.APIVersion}} {{.Server.Os}}']);
    expect(v.stdout.trim()).toBe('1.51 linux');
    const info = await run(sock, ['info', '--format', '{{.Images}} {{.LoggingDriver}}']);
    expect(info.stdout.trim()).toBe('1 json-file');
    const ping = await http(sock, 'HEAD', '/_ping');
    expect(ping.status).toBe(200);
    expect(ping.headers['api-version']).toBe('1.51');
    expect(ping.headers.ostype).toBe('linux');
    const old = await http(sock, 'GET', '/v1.24/version');
    expect(old.status).toBe(400);
    expect(JSON.parse(old.body).message).toBe(
      'client version 1.24 is too old. Minimum supported API version is 1.40, please upgrade your client to a newer version',
    );
  });

  it('lists images as docker does', async () => {
    const r = await run(sock, ['images', '--format', '{{.Repository}}:{{.Tag}} {{.ID}}']);
    expect(r.stdout.trim()).toBe(`busybox:latest ${imageId.slice(7, 19)}`);
    const i = await run(sock, ['image', 'inspect', 'busybox', '--format', '{{.Id}} {{index .Config.Labels "org.berth.fixture"}}']);
    expect(i.stdout.trim()).toBe(`${imageId} busybox`);
  });

  it('runs --rm echo: attach, wait before start, output, removal', async () => {
    const r = await run(sock, ['run', '--rm', 'busybox', 'echo', 'hello']);
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('hello\n');
    expect(r.code).toBe(0);
    const ps = await run(sock, ['ps', '-aq']);
    expect(ps.stdout.trim()).toBe('');
    expect(tasks.containers.size).toBe(0);
    expect(images.snapshots.size).toBe(0);
  });

  it('passes the exit code and stderr through', async () => {
    const r = await run(sock, ['run', '--rm', 'busybox', 'sh', '-c', 'echo out; echo err >&2; exit 3']);
    expect(r.code).toBe(3);
    expect(r.stdout).toBe('out\n');
    expect(r.stderr).toBe('err\n');
  });

  it('runs detached; ps, logs, inspect, stop, rm', async () => {
    const r = await run(sock, ['run', '-d', '--name', 'daemon-unit-web', '-e', 'A=1', 'busybox', 'sh', '-c', 'echo ready; sleep 100']);
    expect(r.code).toBe(0);
    const id = r.stdout.trim();
    expect(id).toMatch(/^[0-9a-f]{64}$/);
    const ps = await run(sock, ['ps', '--format', '{{.Names}} {{.Status}}']);
    expect(ps.stdout).toMatch(/^daemon-unit-web Up /m);
    await new Promise((res) => setTimeout(res, 50));
    const logs = await run(sock, ['logs', 'daemon-unit-web']);
    expect(logs.stdout).toBe('ready\n');
    const insp = await run(sock, ['inspect', '--format', '{{.State.Status}} {{.Name}} {{index .Config.Env 1}} {{.Config.Hostname}}', id.slice(0, 8)]);
    expect(insp.stdout.trim()).toBe(`running /daemon-unit-web A=1 ${id.slice(0, 12)}`);
    const spec = tasks.containers.get(id)!.spec;
    expect(spec.process.env).toContain('A=1');
    expect(spec.process.args).toEqual(['sh', '-c', 'echo ready; sleep 100']);
    expect(spec.hostname).toBe(id.slice(0, 12));
    const rm = await run(sock, ['rm', 'daemon-unit-web']);
    expect(rm.code).not.toBe(0);
    expect(rm.stderr).toContain('cannot remove container "/daemon-unit-web": container is running');
    const stop = await run(sock, ['stop', 'daemon-unit-web']);
    expect(stop.stdout.trim()).toBe('daemon-unit-web');
    const after = await run(sock, ['ps', '-a', '--filter', 'name=daemon-unit-web', '--format', '{{.Status}}']);
    expect(after.stdout).toMatch(/^Exited \(143\)/);
    const again = await http(sock, 'POST', `/v1.51/containers/${id}/stop`);
    expect(again.status).toBe(304);
    expect((await run(sock, ['rm', id])).code).toBe(0);
    expect(tasks.containers.has(id)).toBe(false);
  });

  it('rejects bad requests with Docker’s status codes and messages, changing nothing', async () => {
    const before = (await run(sock, ['ps', '-aq'])).stdout;
    const bad = await http(sock, 'POST', '/v1.51/containers/create', '{bad', { 'Content-Type': 'application/json' });
    expect(bad.status).toBe(400);
    expect(bad.headers['content-type']).toBe('application/json');
    expect(JSON.parse(bad.body).message).toMatch(/invalid JSON/);
    const unknown = await run(sock, ['inspect', '--type', 'container', 'daemon-unit-nope']);
    expect(unknown.stderr).toContain('No such container: daemon-unit-nope');
    const missing = await http(sock, 'GET', '/v1.51/containers/daemon-unit-nope/json');
    expect(missing.status).toBe(404);
    const port = await http(sock, 'POST', '/v1.51/containers/create', JSON.stringify({ Image: 'busybox', HostConfig: { PortBindings: { 'abc/tcp': [{ HostPort: '80' }] } } }), { 'Content-Type': 'application/json' });
    expect(port.status).toBe(400);
    expect(JSON.parse(port.body).message).toBe('invalid port specification: "abc/tcp"');
    const img = await http(sock, 'POST', '/v1.51/containers/create', JSON.stringify({ Image: 'daemon-unit-missing' }), { 'Content-Type': 'application/json' });
    expect(img.status).toBe(404);
    expect(JSON.parse(img.body).message).toBe('No such image: daemon-unit-missing:latest');
    expect((await run(sock, ['create', '--name', 'daemon-unit-dup', 'busybox', 'true'])).code).toBe(0);
    const dup = await run(sock, ['create', '--name', 'daemon-unit-dup', 'busybox', 'true']);
    expect(dup.stderr).toMatch(/Conflict. The container name "\/daemon-unit-dup" is already in use by container "[0-9a-f]{64}"/);
    expect((await run(sock, ['rm', 'daemon-unit-dup'])).code).toBe(0);
    expect((await run(sock, ['ps', '-aq'])).stdout).toBe(before);
  });

  it('wait sends its headers at once and the exit code of a later start', async () => {
    const id = (await run(sock, ['create', 'busybox', 'false'])).stdout.trim();
    const headers = await new Promise<{ status: number; body: Promise<string> }>((resolve, reject) => {
      const req = request({ socketPath: sock, method: 'POST', path: `/v1.51/containers/${id}/wait?condition=next-exit` }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c) => chunks.push(c));
        resolve({ status: res.statusCode ?? 0, body: new Promise((r) => res.on('end', () => r(Buffer.concat(chunks).toString()))) });
      });
      req.on('error', reject);
      req.end();
    });
    expect(headers.status).toBe(200);
    expect((await run(sock, ['start', id])).code).toBe(0);
    expect(JSON.parse(await headers.body)).toEqual({ StatusCode: 1 });
    expect((await run(sock, ['wait', id])).stdout.trim()).toBe('1');
    expect((await run(sock, ['rm', id])).code).toBe(0);
  });
});
