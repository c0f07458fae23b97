// `berth ctr images|content|snapshots` from the built CLI against the built
// berth-shimd (its own root and socket), as a user would run them.
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixtures } from '../fixtures/index.js';
import { bins } from '../helpers.js';
import { tempDir } from './helpers.js';

const execFileP = promisify(execFile);

describe('berth ctr images, content and snapshots', () => {
  let dir: string;
  let shimd: ChildProcess | undefined;
  let sock: string;

  const ctr = async (...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> => {
    try {
      const { stdout, stderr } = await execFileP('node', [bins.cli, 'ctr', '-a', sock, ...args], { timeout: 60_000 });
      return { code: 0, stdout, stderr };
    } catch (e) {
      const err = e as { code: number; stdout: string; stderr: string };
      return { code: err.code, stdout: err.stdout, stderr: err.stderr };
    }
  };

  beforeAll(async () => {
    dir = tempDir('ctr');
    sock = join(dir, 'shimd.sock');
    shimd = spawn('node', [bins.shimd, '--address', sock, '--root', join(dir, 'root'), '--state', join(dir, 'state')], { stdio: 'ignore' });
    for (let i = 0; i < 100 && !existsSync(sock); i++) await new Promise((r) => setTimeout(r, 50));
    if (!existsSync(sock)) throw new Error('berth-shimd did not start');
  });

  afterAll(async () => {
    if (shimd?.pid && shimd.exitCode === null) {
      process.kill(shimd.pid, 'SIGTERM');
      await new Promise((r) => shimd!.once('exit', r));
    }
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('imports, lists, unpacks, prepares, exports and removes', async () => {
    const f = fixtures();
    const imp = await ctr('images', 'import', f.dockerArchive);
    expect(imp.stdout).toMatch(/^docker\.io\/library\/busybox:latest: sha256:/);
    const ls = await ctr('images', 'ls');
    expect(ls.stdout.split('\n')[0]).toMatch(/^REF\s+TYPE\s+DIGEST\s+SIZE\s+LABELS$/);
    expect(ls.stdout).toContain('docker.io/library/busybox:latest');
    expect((await ctr('images', 'ls', '-q')).stdout).toBe('docker.io/library/busybox:latest\n');

    const chain = (await ctr('images', 'unpack', 'busybox')).stdout.trim();
    expect(chain).toBe(f.diffId);
    expect((await ctr('snapshots', 'prepare', 'img-ctr-rootfs', chain)).code).toBe(0);
    const mounts = await ctr('snapshots', 'mounts', '/mnt/x', 'img-ctr-rootfs');
    expect(mounts.stdout).toMatch(/^mount -t overlay overlay \/mnt\/x -o workdir=.*,upperdir=.*,lowerdir=/);
    const snaps = await ctr('snapshots', 'ls');
    expect(snaps.stdout).toMatch(new RegExp(`img-ctr-rootfs\\s+${chain}\\s+active`));
    expect((await ctr('snapshots', 'rm', chain)).stderr).toMatch(/has a child "img-ctr-rootfs"/);
    expect((await ctr('snapshots', 'rm', 'img-ctr-rootfs')).code).toBe(0);

    const content = await ctr('content', 'ls', '-q');
    expect(content.stdout).toContain(f.configDigest);
    const cfg = await ctr('content', 'get', f.configDigest);
    expect(JSON.parse(cfg.stdout).rootfs.diff_ids).toEqual([f.diffId]);

    const spec = JSON.parse((await ctr('images', 'spec', '--user', 'user', 'busybox', 'img-c1', 'echo', 'hi')).stdout);
    expect(spec.process.args).toEqual(['echo', 'hi']);
    expect(spec.process.user.uid).toBe(1000);

    const out = join(dir, 'out.tar');
    expect((await ctr('images', 'export', '--format', 'docker', out, 'busybox')).code).toBe(0);
    expect(existsSync(out)).toBe(true);

    expect((await ctr('images', 'tag', 'busybox', 'example.com/bb:1')).stdout).toBe('example.com/bb:1\n');
    const rm = await ctr('images', 'rm', 'nosuch');
    expect(rm.code).toBe(1);
    expect(rm.stderr).toContain('image "nosuch": not found (NOT_FOUND)');
    expect((await ctr('images', 'rm', 'busybox', 'example.com/bb:1')).code).toBe(0);
    const gc = await ctr('images', 'gc');
    expect(gc.stdout).toContain(`removed content ${f.configDigest}`);
    expect(gc.stdout).toContain(`removed snapshot ${chain}`);
    expect((await ctr('content', 'ls', '-q')).stdout).toBe('');
  });
});
