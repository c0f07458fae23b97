import { describe, expect, it } from 'vitest';
import { generateSpec, resolveUser } from './generate.js';

const passwd = 'root:x:0:0:root:/root:/bin/sh\nwww:x:33:33::/var/www:/bin/false\napp:x:1000:1000::/home/app:/bin/sh\n';
const group = 'root:x:0:\nwww:x:33:\napp:x:1000:\naudio:x:29:app,www\nvideo:x:44:app\n';

describe('user resolution', () => {
  it.each([
    [undefined, { uid: 0, gid: 0 }],
    ['', { uid: 0, gid: 0 }],
    ['app', { uid: 1000, gid: 1000, additionalGids: [29, 44] }],
    ['www:audio', { uid: 33, gid: 29 }],
    ['1000', { uid: 1000, gid: 1000, additionalGids: [29, 44] }],
    ['4242', { uid: 4242, gid: 0 }],
    ['4242:4343', { uid: 4242, gid: 4343 }],
  ])('%j', (u, want) => {
    expect(resolveUser(u, passwd, group)).toEqual(want);
  });

  it('names a user or group that does not exist', () => {
    expect(() => resolveUser('nobody', passwd, group)).toThrow('unable to find user nobody: no matching entries in passwd file');
    expect(() => resolveUser('app:nogroup', passwd, group)).toThrow('unable to find group nogroup');
  });
});

describe('spec from an image config', () => {
  const config = {
    architecture: 'amd64',
    os: 'linux',
    config: {
      Entrypoint: ['/entry.sh'],
      Cmd: ['serve', '--port', '80'],
      Env: ['PATH=/app/bin:/usr/bin', 'MODE=prod'],
      WorkingDir: '/app',
      User: 'app',
      ExposedPorts: { '80/tcp': {}, '443/tcp': {} },
      Volumes: { '/data': {} },
      Labels: { 'org.example': 'yes' },
      StopSignal: 'SIGQUIT',
    },
    rootfs: { type: 'layers' as const, diff_ids: [] },
  };
  const files: Record<string, string> = { '/etc/passwd': passwd, '/etc/group': group };
  const gen = (overrides = {}) => generateSpec({ config, id: 'c1', namespace: 'ns', readFile: (p) => files[p], overrides }) as any;

  it('takes the process from the image', () => {
    const s = gen();
    expect(s.process.args).toEqual(['/entry.sh', 'serve', '--port', '80']);
    expect(s.process.env).toEqual(['PATH=/app/bin:/usr/bin', 'MODE=prod']);
    expect(s.process.cwd).toBe('/app');
    expect(s.process.user).toEqual({ uid: 1000, gid: 1000, additionalGids: [29, 44] });
    expect(s.annotations).toMatchObject({
      'org.example': 'yes',
      'org.opencontainers.image.stopSignal': 'SIGQUIT',
      'org.opencontainers.image.exposedPorts': '443/tcp,80/tcp',
      'berth.io/image.volumes': '/data',
    });
    expect(s.linux.cgroupsPath).toBe('/berth/ns/c1');
    expect(s.mounts.map((m: any) => m.destination)).toEqual(['/proc', '/dev', '/dev/pts', '/dev/shm', '/dev/mqueue', '/sys', '/sys/fs/cgroup', '/run']);
    expect(s.process.capabilities.bounding).toHaveLength(14);
    expect(s.linux.namespaces.map((n: any) => n.type)).toEqual(['pid', 'ipc', 'uts', 'mount', 'network']);
  });

  it('applies overrides like docker run', () => {
    const s = gen({ args: ['sh'], env: ['MODE=dev', 'X=1'], user: '0', terminal: true, cwd: '/' });
    expect(s.process.args).toEqual(['/entry.sh', 'sh']);
    expect(s.process.env).toEqual(['PATH=/app/bin:/usr/bin', 'MODE=dev', 'X=1', 'TERM=xterm']);
    expect(s.process.user).toEqual({ uid: 0, gid: 0 });
    expect(gen({ entrypoint: ['/bin/sh'] }).process.args).toEqual(['/bin/sh']);
  });

  it('refuses an image with nothing to run', () => {
    expect(() =>
      generateSpec({ config: { ...config, config: {} }, id: 'c', namespace: 'n', readFile: () => undefined }),
    ).toThrow(/no command specified/);
  });
});
