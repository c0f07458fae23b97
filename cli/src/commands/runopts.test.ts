import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildCreate, parsePublish } from './runopts.js';

describe('publish specs', () => {
  it('parses docker -p forms', () => {
    expect(parsePublish('80')).toEqual([{ port: '80/tcp', binding: { HostIp: '', HostPort: '' } }]);
    expect(parsePublish('8080:80/udp')).toEqual([{ port: '80/udp', binding: { HostIp: '', HostPort: '8080' } }]);
    expect(parsePublish('127.0.0.1:8080:80')).toEqual([{ port: '80/tcp', binding: { HostIp: '127.0.0.1', HostPort: '8080' } }]);
    expect(parsePublish('[::1]:8080:80')).toEqual([{ port: '80/tcp', binding: { HostIp: '::1', HostPort: '8080' } }]);
    expect(parsePublish('9000-9001:80-81').map((p) => `${p.binding.HostPort}->${p.port}`)).toEqual(['9000->80/tcp', '9001->81/tcp']);
    expect(() => parsePublish('80/xyz')).toThrow(/invalid proto: xyz/);
    expect(() => parsePublish('http')).toThrow(/invalid containerPort: http/);
  });
});

describe('create body', () => {
  it('turns run flags into Config and HostConfig', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cli-env-'));
    try {
      const envFile = join(dir, 'env');
      writeFileSync(envFile, '# comment\nFROM_FILE=1\n\n');
      const { name, body } = buildCreate(
        {
          name: 'web',
          env: ['A=1', 'B=2'],
          envFile,
          publish: '8080:80',
          volume: ['/host:/data:ro', '/anon'],
          tmpfs: '/run:size=1m',
          label: 'tier=web',
          memory: '64m',
          cpus: 0.5,
          rm: true,
          interactive: true,
          tty: true,
          workdir: '/srv',
          user: '1000:1000',
          entrypoint: '/bin/sh',
          network: 'cli-net',
          networkAlias: 'web-alias',
          restart: 'no',
        },
        'busybox',
        ['-c', 'echo hi'],
      );
      expect(name).toBe('web');
      expect(body).toMatchObject({
        Image: 'busybox',
        Cmd: ['-c', 'echo hi'],
        Entrypoint: ['/bin/sh'],
        Env: ['FROM_FILE=1', 'A=1', 'B=2'],
        Tty: true,
        OpenStdin: true,
        StdinOnce: true,
        AttachStdin: true,
        WorkingDir: '/srv',
        User: '1000:1000',
        Labels: { tier: 'web' },
        ExposedPorts: { '80/tcp': {} },
        Volumes: { '/anon': {} },
        HostConfig: {
          Binds: ['/host:/data:ro'],
          PortBindings: { '80/tcp': [{ HostIp: '', HostPort: '8080' }] },
          Tmpfs: { '/run': 'size=1m' },
          Memory: 64 * 1024 * 1024,
          NanoCpus: 500_000_000,
          AutoRemove: true,
          NetworkMode: 'cli-net',
        },
        NetworkingConfig: { EndpointsConfig: { 'cli-net': { Aliases: ['web-alias'] } } },
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('rejects bad flags with the reason and docker exit status 125', () => {
    expect(() => buildCreate({ volume: 'relative:/x:ro:extra' }, 'i', [])).toThrow(/invalid volume specification/);
    expect(() => buildCreate({ volume: '/a:relative' }, 'i', [])).toThrow(/mount path must be absolute/);
    expect(() => buildCreate({ restart: 'sometimes' }, 'i', [])).toThrow(/invalid restart policy 'sometimes'/);
    expect(() => buildCreate({ rm: true, restart: 'always' }, 'i', [])).toThrow(/Conflicting options: --restart and --rm/);
    expect(() => buildCreate({ envFile: '/nonexistent/cli-env' }, 'i', [])).toThrow(/open \/nonexistent\/cli-env: no such file or directory/);
    try {
      buildCreate({ attach: 'stdweird' }, 'i', []);
    } catch (e) {
      expect((e as { exitCode: number }).exitCode).toBe(125);
    }
  });
});

describe('run -h', () => {
  it('is the hostname, as in docker', async () => {
    const { FakeDaemon } = await import('../testing/fake-daemon.js');
    const { berth } = await import('../testing/run-berth.js');
    const d = await new FakeDaemon().listen();
    try {
      d.reply('POST', /^\/containers\/create$/, 201, { Id: 'x'.repeat(64) });
      const r = await berth(d.host, ['create', '-h', 'cli-host', 'busybox']);
      expect(r.status).toBe(0);
      expect(JSON.parse(d.requests.find((q) => q.path === '/containers/create')?.body ?? '{}').Hostname).toBe('cli-host');
    } finally {
      await d.close();
    }
  });
});
