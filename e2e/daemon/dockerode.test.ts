// The main scenarios through dockerode (npm), a second real Docker client: run,
// logs, exec, inspect, stop, rm, images, volumes, and Docker's errors.
import { existsSync } from 'node:fs';
import { PassThrough } from 'node:stream';
import Docker from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixtures } from '../fixtures/index.js';
import { isRoot } from '../helpers.js';
import { DOCKER, type Env, startEnv, uid } from './harness.js';

/** Splits a multiplexed stream into stdout and stderr text. */
async function demuxed(docker: Docker, stream: NodeJS.ReadableStream): Promise<{ stdout: string; stderr: string }> {
  const out = new PassThrough();
  const err = new PassThrough();
  const o: Buffer[] = [];
  const e: Buffer[] = [];
  out.on('data', (d) => o.push(d));
  err.on('data', (d) => e.push(d));
  docker.modem.demuxStream(stream, out, err);
  await new Promise<void>((resolve) => {
    stream.on('end', () => resolve());
    stream.on('close', () => resolve());
  });
  return { stdout: Buffer.concat(o).toString(), stderr: Buffer.concat(e).toString() };
}

describe.skipIf(!isRoot || !existsSync(DOCKER))('berthd through dockerode', () => {
  let env: Env;
  let docker: Docker;
  beforeAll(async () => {
    env = await startEnv();
    expect((await env.docker(['load', '-i', fixtures().dockerArchive])).code).toBe(0);
    docker = new Docker({ socketPath: env.sock });
  });
  afterAll(async () => {
    await env?.stop();
  });

  it('ping, version, images', async () => {
    expect(String(await docker.ping())).toBe('OK');
    expect((await docker.version()).ApiVersion).toBe('1.51');
    const images = await docker.listImages();
    expect(images.flatMap((i) => i.RepoTags)).toContain('busybox:latest');
    const img = await docker.getImage('busybox').inspect();
    expect(img.Id).toBe(fixtures().configDigest);
  });

  it('run to completion: create, start, wait, logs (demultiplexed), inspect, remove', async () => {
    const name = uid();
    const c = await docker.createContainer({ name, Image: 'busybox', Cmd: ['sh', '-c', 'echo out; echo err >&2; exit 5'], Env: ['X=1'] });
    await c.start();
    const w = await c.wait();
    expect(w.StatusCode).toBe(5);
    const logs = (await c.logs({ stdout: true, stderr: true, follow: false })) as unknown as Buffer;
    // Not a stream: the frames are in the buffer; parse the 8-byte headers.
    const parts = { 1: '', 2: '' } as Record<number, string>;
    for (let i = 0; i + 8 <= logs.length; ) {
      const len = logs.readUInt32BE(i + 4);
      parts[logs[i]!] += logs.subarray(i + 8, i + 8 + len).toString();
      i += 8 + len;
    }
    expect(parts[1]).toBe('out\n');
    expect(parts[2]).toBe('err\n');
    const info = await c.inspect();
    expect(info.Name).toBe(`/${name}`);
    expect(info.State.Status).toBe('exited');
    expect(info.State.ExitCode).toBe(5);
    expect(info.Config.Env).toContain('X=1');
    await c.remove();
    await expect(c.inspect()).rejects.toMatchObject({ statusCode: 404 });
  });

  it('a running container: exec with output, followed logs, stop, rm', async () => {
    const c = await docker.createContainer({ Image: 'busybox', Cmd: ['sh', '-c', 'echo ready; exec sleep 300'], name: uid() });
    await c.start();
    const logStream = await c.logs({ stdout: true, stderr: true, follow: true });
    const gotLogs = demuxed(docker, logStream);
    const ex = await c.exec({ Cmd: ['sh', '-c', 'echo in-exec; echo e >&2; exit 3'], AttachStdout: true, AttachStderr: true });
    const stream = await ex.start({ hijack: true, stdin: false });
    const out = await demuxed(docker, stream);
    expect(out).toEqual({ stdout: 'in-exec\n', stderr: 'e\n' });
    const ei = await ex.inspect();
    expect(ei.ExitCode).toBe(3);
    expect(ei.Running).toBe(false);
    await c.stop({ t: 1 });
    // berth-shim currently also writes exec output into the container's json log
    // (shimd/src/shim/shim.ts launch() passes the init's log to every process), so
    // only the container's own first line is checked here.
    expect((await gotLogs).stdout.startsWith('ready\n')).toBe(true);
    const info = await c.inspect();
    expect(info.State.Running).toBe(false);
    expect(info.State.ExitCode).toBe(137);
    await expect(c.stop()).rejects.toMatchObject({ statusCode: 304 });
    await c.remove({ force: true });
  });

  it('volumes: create, inspect, list, use, remove', async () => {
    const name = uid('daemonvol');
    const v = await docker.createVolume({ Name: name, Labels: { area: 'daemon' } });
    expect(v.name).toBe(name);
    const info = await docker.getVolume(name).inspect();
    expect(info.Labels).toEqual({ area: 'daemon' });
    expect(info.Driver).toBe('local');
    const list = await docker.listVolumes({ filters: JSON.stringify({ label: ['area=daemon'] }) });
    expect(list.Volumes.map((x) => x.Name)).toContain(name);
    const c = await docker.createContainer({ Image: 'busybox', Cmd: ['sh', '-c', 'echo kept > /v/f'], HostConfig: { Binds: [`${name}:/v`] } });
    await c.start();
    expect((await c.wait()).StatusCode).toBe(0);
    await expect(docker.getVolume(name).remove()).rejects.toMatchObject({ statusCode: 409 });
    await c.remove();
    await docker.getVolume(name).remove();
    await expect(docker.getVolume(name).inspect()).rejects.toMatchObject({ statusCode: 404 });
  });

  it('user-defined networks: create, run on it, connect, inspect, disconnect, remove', async () => {
    const octet = 100 + ((process.pid + 37) % 100);
    const name = uid('net');
    const net = await docker.createNetwork({ Name: name, Driver: 'bridge', IPAM: { Driver: 'default', Config: [{ Subnet: `10.${octet}.7.0/24` }] }, Labels: { via: 'dockerode' } });
    try {
      const on = await docker.createContainer({ name: uid(), Image: 'busybox', Cmd: ['sleep', '300'], HostConfig: { NetworkMode: name } });
      const off = await docker.createContainer({ name: uid(), Image: 'busybox', Cmd: ['sleep', '300'] });
      await on.start();
      await off.start();
      await net.connect({ Container: off.id, EndpointConfig: { IPAMConfig: { IPv4Address: `10.${octet}.7.77` } } });
      const info = await net.inspect();
      expect(info.Labels).toEqual({ via: 'dockerode' });
      expect(Object.keys(info.Containers ?? {}).sort()).toEqual([on.id, off.id].sort());
      expect(info.Containers?.[off.id]?.IPv4Address).toBe(`10.${octet}.7.77/24`);
      expect((await off.inspect()).NetworkSettings.Networks[name]?.IPAddress).toBe(`10.${octet}.7.77`);
      await expect(net.remove()).rejects.toMatchObject({ statusCode: 403 });
      await net.disconnect({ Container: off.id });
      expect(Object.keys((await net.inspect()).Containers ?? {})).toEqual([on.id]);
      await on.remove({ force: true });
      await off.remove({ force: true });
      await net.remove();
      await expect(net.inspect()).rejects.toMatchObject({ statusCode: 404 });
    } finally {
      await net.remove().catch(() => {});
    }
  });

  it('bad input: Docker’s status codes and messages, nothing created', async () => {
    const before = (await docker.listContainers({ all: true })).length;
    await expect(docker.createContainer({ Image: 'daemon-no-such-image' })).rejects.toMatchObject({
      statusCode: 404,
      json: { message: 'No such image: daemon-no-such-image:latest' },
    });
    await expect(docker.getContainer('daemon-no-such').inspect()).rejects.toMatchObject({
      statusCode: 404,
      json: { message: 'No such container: daemon-no-such' },
    });
    const name = uid();
    const first = await docker.createContainer({ Image: 'busybox', name, Cmd: ['true'] });
    await expect(docker.createContainer({ Image: 'busybox', name, Cmd: ['true'] })).rejects.toMatchObject({ statusCode: 409 });
    await expect(
      docker.createContainer({ Image: 'busybox', Cmd: ['true'], HostConfig: { PortBindings: { 'abc/tcp': [{ HostPort: '80' }] } } }),
    ).rejects.toMatchObject({ statusCode: 400, json: { message: 'invalid port specification: "abc/tcp"' } });
    await first.remove();
    expect((await docker.listContainers({ all: true })).length).toBe(before);
  });
});
