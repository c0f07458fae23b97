// docker update (cgroup v1 files change under the running container), docker diff,
// docker export, docker import, image prune and search through berthd.
import { execFileSync } from 'node:child_process';
import { createReadStream, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixtures } from '../fixtures/index.js';
import { isRoot } from '../helpers.js';
import { DOCKER, type Env, startEnv, uid } from './harness.js';

const V1 = existsSync('/sys/fs/cgroup/memory/memory.limit_in_bytes');
const cg = (ctl: string, id: string, file: string) => readFileSync(`/sys/fs/cgroup/${ctl}/berth/${id}/${file}`, 'utf8').trim();

describe.skipIf(!isRoot || !existsSync(DOCKER))('berthd: update, diff, export, import, prune', () => {
  let env: Env;
  beforeAll(async () => {
    env = await startEnv();
    expect((await env.docker(['load', '-i', fixtures().dockerArchive])).code).toBe(0);
  });
  afterAll(async () => {
    await env?.stop();
  });

  it.skipIf(!V1)('docker update changes memory, cpus and pids of a running container and keeps them across restart', async () => {
    const name = uid();
    const id = (await env.docker(['run', '-d', '--name', name, '--memory', '64m', 'busybox', 'sleep', '300'])).stdout.trim();
    expect(cg('memory', id, 'memory.limit_in_bytes')).toBe(String(64 << 20));
    const up = await env.docker(['update', '--memory', '32m', '--memory-swap', '64m', '--cpus', '0.5', '--pids-limit', '20', name]);
    expect(up.stderr).toBe('');
    expect(up.stdout.trim()).toBe(name);
    expect(cg('memory', id, 'memory.limit_in_bytes')).toBe(String(32 << 20));
    expect(cg('cpu', id, 'cpu.cfs_quota_us')).toBe('50000');
    expect(cg('pids', id, 'pids.max')).toBe('20');
    const hc = (await env.docker(['inspect', '--format', '{{.HostConfig.Memory}} {{.HostConfig.NanoCpus}} {{.HostConfig.PidsLimit}}', name])).stdout.trim();
    expect(hc).toBe(`${32 << 20} 500000000 20`);
    const stats = await env.docker(['stats', '--no-stream', '--format', '{{.MemUsage}} {{.PIDs}}', name]);
    expect(stats.stdout.trim()).toMatch(/^[0-9.]+[KMG]?i?B \/ 32MiB 1$/);
    expect((await env.docker(['restart', '-t', '0', name])).code).toBe(0);
    expect(cg('memory', id, 'memory.limit_in_bytes')).toBe(String(32 << 20));
    expect(cg('pids', id, 'pids.max')).toBe('20');
    const bad = await env.docker(['update', '--memory', '1k', name]);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toContain('Minimum memory limit allowed is 6MB');
    expect((await env.docker(['update', '--restart', 'on-failure:3', name])).code).toBe(0);
    expect((await env.docker(['inspect', '--format', '{{.HostConfig.RestartPolicy.Name}}:{{.HostConfig.RestartPolicy.MaximumRetryCount}}', name])).stdout.trim()).toBe('on-failure:3');
    expect((await env.docker(['rm', '-f', name])).code).toBe(0);
    const missing = await env.docker(['update', '--memory', '32m', 'daemon-no-such']);
    expect(missing.stderr).toContain('No such container: daemon-no-such');
  });

  it('docker diff shows added, changed and deleted paths; docker export writes the merged rootfs', async () => {
    const name = uid();
    expect((await env.docker(['run', '--name', name, 'busybox', 'sh', '-c', 'echo new > /tmp/added; echo x >> /etc/group; rm /etc/hostname.orig 2>/dev/null; rm /bin/vi'])).code).toBe(0);
    const diff = (await env.docker(['diff', name])).stdout.trim().split('\n');
    expect(diff).toContain('A /tmp/added');
    expect(diff).toContain('C /tmp');
    expect(diff).toContain('C /etc/group');
    expect(diff).toContain('D /bin/vi');
    const out = join(env.dir, 'export.tar');
    const ex = await env.docker(['export', '-o', out, name]);
    expect(ex.stderr).toBe('');
    const list = execFileSync('tar', ['-tf', out], { encoding: 'utf8' }).split('\n');
    expect(list).toContain('tmp/added');
    expect(list).toContain('bin/busybox');
    expect(list).not.toContain('bin/vi');
    expect(execFileSync('tar', ['-xOf', out, 'tmp/added'], { encoding: 'utf8' })).toBe('new\n');
    // Nothing is left mounted for the export.
    expect(readFileSync('/proc/self/mounts', 'utf8')).not.toContain('/export-');
    expect((await env.docker(['rm', name])).code).toBe(0);
  });

  it('docker import makes a one-layer image from a tar (file and stdin) that runs', async () => {
    const name = uid();
    expect((await env.docker(['create', '--name', name, 'busybox', 'true'])).code).toBe(0);
    const tarPath = join(env.dir, 'rootfs.tar');
    expect((await env.docker(['export', '-o', tarPath, name])).code).toBe(0);
    expect((await env.docker(['rm', name])).code).toBe(0);
    const tag = `daemon-import/${uid('img')}:v1`;
    const imp = await env.docker(['import', '--change', 'CMD ["echo", "from-import"]', '--change', 'ENV FOO=bar', '-m', 'imported', tarPath, tag]);
    expect(imp.stderr).toBe('');
    expect(imp.stdout.trim()).toMatch(/^sha256:[0-9a-f]{64}$/);
    const r = await env.docker(['run', '--rm', tag]);
    expect(r.stdout).toBe('from-import\n');
    expect((await env.docker(['run', '--rm', tag, 'sh', '-c', 'echo $FOO'])).stdout).toBe('bar\n');
    const hist = await env.docker(['history', '--format', '{{.Comment}}', tag]);
    expect(hist.stdout.trim()).toBe('imported');
    // From stdin, as `cat rootfs.tar | docker import - name`.
    const tag2 = `daemon-import/${uid('img')}:stdin`;
    const imp2 = await env.docker(['import', '-', tag2], { input: readFileSync(tarPath) });
    expect(imp2.code).toBe(0);
    expect((await env.docker(['run', '--rm', tag2, 'echo', 'ok'])).stdout).toBe('ok\n');
    // Not a tar: a clear error, and no image appears.
    writeFileSync(join(env.dir, 'not.tar'), 'this is not a tar archive\n'.repeat(40));
    const before = (await env.docker(['images', '-q'])).stdout;
    const bad = await env.docker(['import', join(env.dir, 'not.tar'), `daemon-import/${uid('img')}:bad`]);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/not a valid tar archive|archive/);
    expect((await env.docker(['images', '-q'])).stdout).toBe(before);
    expect((await env.docker(['rmi', tag, tag2])).code).toBe(0);
  });

  it('docker import fetches the tar from an http URL (fromSrc=URL); a missing URL is a clear error', async () => {
    const name = uid();
    expect((await env.docker(['create', '--name', name, 'busybox', 'true'])).code).toBe(0);
    const tarPath = join(env.dir, 'url-rootfs.tar');
    expect((await env.docker(['export', '-o', tarPath, name])).code).toBe(0);
    expect((await env.docker(['rm', name])).code).toBe(0);
    const served: string[] = [];
    const server = createServer((req, res) => {
      served.push(req.url ?? '');
      if (req.url !== '/rootfs.tar') {
        res.writeHead(404).end('no such file\n');
        return;
      }
      res.writeHead(200, { 'Content-Type': 'application/x-tar' });
      createReadStream(tarPath).pipe(res);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const port = (server.address() as { port: number }).port;
    try {
      const tag = `daemon-import/${uid('img')}:url`;
      const imp = await env.docker(['import', '--change', 'CMD ["echo", "from-url"]', `http://127.0.0.1:${port}/rootfs.tar`, tag]);
      expect(imp.stderr).toBe('');
      expect(imp.stdout.trim()).toMatch(/sha256:[0-9a-f]{64}$/);
      expect(served).toContain('/rootfs.tar');
      expect((await env.docker(['run', '--rm', tag])).stdout).toBe('from-url\n');
      const before = (await env.docker(['images', '-q'])).stdout;
      const missing = await env.docker(['import', `http://127.0.0.1:${port}/missing.tar`, `daemon-import/${uid('img')}:missing`]);
      expect(missing.code).not.toBe(0);
      expect(missing.stderr).toContain(`http://127.0.0.1:${port}/missing.tar`);
      expect(missing.stderr).toContain('404');
      expect((await env.docker(['images', '-q'])).stdout).toBe(before);
      expect((await env.docker(['rmi', tag])).code).toBe(0);
    } finally {
      await new Promise((r) => server.close(r));
    }
  });

  it('image prune removes dangling images only; search says there is no index', async () => {
    const name = uid();
    expect((await env.docker(['create', '--name', name, 'busybox', 'true'])).code).toBe(0);
    const tarPath = join(env.dir, 'prune.tar');
    expect((await env.docker(['export', '-o', tarPath, name])).code).toBe(0);
    expect((await env.docker(['rm', name])).code).toBe(0);
    const dangling = (await env.docker(['import', tarPath])).stdout.trim();
    expect(dangling).toMatch(/^sha256:[0-9a-f]{64}$/);
    const listed = await env.docker(['images', '--filter', 'dangling=true', '--format', '{{.ID}}']);
    expect(listed.stdout.trim()).toBe(dangling.slice(7, 19));
    const prune = await env.docker(['image', 'prune', '-f']);
    expect(prune.stdout).toContain(`deleted: ${dangling}`);
    expect((await env.docker(['images', '--filter', 'dangling=true', '-q'])).stdout).toBe('');
    expect((await env.docker(['images', '--format', '{{.Repository}}'])).stdout).toContain('busybox');
    const search = await env.docker(['search', 'busybox']);
    expect(search.code).not.toBe(0);
    expect(search.stderr).toContain('search is not available');
  });
});
