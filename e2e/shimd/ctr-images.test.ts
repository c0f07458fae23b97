// `berth ctr run IMAGE ID` and `containers create IMAGE ID`: containers from an
// imported image (snapshot from Images.PrepareRootfs, spec from Images.GenerateSpec,
// rootfs mounts looked up by shimd from the container's snapshot key), once per
// runtime; and image calls against namespaces.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixtures } from '../fixtures/index.js';
import { bins } from '../helpers.js';
import { cgroupExists, cleanupShimd, makeClient, mountsUnder, processesMatching, runtimeName, runtimes, type Shimd, specFor, startShimd, uid } from './helpers.js';

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

function run(file: string, args: string[], input = ''): Promise<Result> {
  return new Promise((resolve) => {
    const child = execFile(file, args, { timeout: 60_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as any).code ?? 1) : 0, stdout, stderr });
    });
    child.stdin!.end(input);
  });
}

const IMAGE = 'docker.io/library/busybox:latest';

for (const runtime of runtimes) {
  describe(`berth ctr with images, ${runtimeName(runtime)}`, () => {
    let shimd: Shimd;
    const ctr = (args: string[], input = '') => run(process.execPath, [bins.cli, 'ctr', '--address', shimd.address, ...args], input);
    /** Snapshots other than the image's committed layers. */
    const activeSnapshots = async (ns = 'default') => (await ctr(['-n', ns, 'snapshots', 'ls'])).stdout.split('\n').filter((l) => /\sactive$/.test(l));

    beforeAll(async () => {
      shimd = await startShimd(runtime);
      const imp = await ctr(['images', 'import', fixtures().ociArchive]);
      expect(imp).toMatchObject({ code: 0, stdout: expect.stringMatching(/^docker\.io\/library\/busybox:latest: sha256:/) });
    });
    afterAll(async () => {
      await cleanupShimd(shimd);
    });

    it('run --rm IMAGE ID echo hello prints hello and removes container, task and snapshot', async () => {
      const id = uid();
      expect(await ctr(['run', '--rm', IMAGE, id, 'echo', 'hello'])).toEqual({ code: 0, stdout: 'hello\n', stderr: '' });
      expect((await ctr(['containers', 'ls', '-q'])).stdout).toBe('');
      expect((await ctr(['tasks', 'ls', '-q'])).stdout).toBe('');
      expect(await activeSnapshots()).toEqual([]);
      expect(mountsUnder(shimd.dir)).toEqual([]);
      expect(cgroupExists('default', id)).toBe(false);
    });

    it('run -t gives an interactive terminal (through script(1)) with the image config', async () => {
      const id = uid();
      // script(1) gives ctr a real terminal; what we type reaches the container's shell.
      const cmd = `stty cols 101 rows 33; exec ${process.execPath} ${bins.cli} ctr --address ${shimd.address} run --rm -t busybox ${id} sh`;
      const r = await run('script', ['-qec', cmd, '/dev/null'], 'tty; stty size; echo in-$((6*7)) $HOME; exit 5\n');
      expect(r.code).toBe(5);
      // (Node's raw mode keeps ONLCR, so lines may end \r\r\n)
      expect(r.stdout).toMatch(/\/dev\/pts\/\d+\r+\n/);
      expect(r.stdout).toMatch(/33 101\r+\n/);
      expect(r.stdout).toMatch(/in-42 \/root\r+\n/);
      expect((await ctr(['containers', 'ls', '-q'])).stdout).toBe('');
      expect(await activeSnapshots()).toEqual([]);
    });

    it('containers create IMAGE ID records image and snapshot; tasks start runs it; containers rm removes the snapshot', async () => {
      const id = uid();
      expect(await ctr(['containers', 'create', '--env', 'GREETING=hi', IMAGE, id, 'sh', '-c', 'echo $GREETING from $(hostname); exit 3'])).toMatchObject({ code: 0 });
      const info = JSON.parse((await ctr(['containers', 'info', id])).stdout);
      expect(info).toMatchObject({ id, image: IMAGE, snapshot_key: `default/${id}`, snapshotter: expect.stringMatching(/^(overlayfs|native)$/) });
      expect(info.spec.process.args).toEqual(['sh', '-c', 'echo $GREETING from $(hostname); exit 3']);
      expect(await activeSnapshots()).toHaveLength(1);
      expect(await ctr(['tasks', 'start', id])).toEqual({ code: 3, stdout: `hi from ${id.slice(0, 63)}\n`, stderr: '' });
      expect((await ctr(['tasks', 'delete', id])).code).toBe(3);
      // The container's writable layer outlives its task until the container goes.
      expect(await activeSnapshots()).toHaveLength(1);
      expect((await ctr(['containers', 'rm', id])).code).toBe(0);
      expect(await activeSnapshots()).toEqual([]);
      expect(processesMatching(`--id ${id} `)).toEqual([]);
    });

    it('an unknown image or a taken id fails clearly and leaves no container or snapshot', async () => {
      const id = uid();
      const r = await ctr(['run', '--rm', 'docker.io/library/nosuch:1', id, 'true']);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain('not found (NOT_FOUND)');
      expect((await ctr(['containers', 'create', IMAGE, id, 'true'])).code).toBe(0);
      const dup = await ctr(['run', '--rm', IMAGE, id, 'true']);
      expect(dup.code).not.toBe(0);
      expect(dup.stderr).toContain(`container ${id} already exists`);
      expect((await ctr(['containers', 'rm', id])).code).toBe(0);
      expect((await ctr(['containers', 'ls', '-q'])).stdout).toBe('');
      expect(await activeSnapshots()).toEqual([]);
    });
  });
}

describe('image calls and namespaces', () => {
  let shimd: Shimd;
  const ctr = (args: string[]) => run(process.execPath, [bins.cli, 'ctr', '--address', shimd.address, ...args]);

  beforeAll(async () => {
    shimd = await startShimd();
  });
  afterAll(async () => {
    await cleanupShimd(shimd);
  });

  it('Tasks.Create for a container whose snapshot is missing or of an unknown snapshotter fails clearly and leaves nothing', async () => {
    const c = makeClient(shimd.address, 'default');
    try {
      const id = uid();
      await c.containers('Create', { container: { id, spec: specFor(['true']), snapshotter: 'overlayfs', snapshot_key: `default/${id}` } });
      await expect(c.tasks('Create', { container_id: id })).rejects.toMatchObject({ code: 5, details: expect.stringContaining(`rootfs snapshot default/${id}`) });
      await c.containers('Update', { container: { id, snapshotter: 'zfs', snapshot_key: 'k' }, update_mask: ['rootfs'] });
      await expect(c.tasks('Create', { container_id: id })).rejects.toMatchObject({ code: 3, details: expect.stringContaining('unknown snapshotter "zfs"') });
      expect(existsSync(join(shimd.state, 'tasks', 'default', id))).toBe(false);
      expect(processesMatching(`--id ${id} `)).toEqual([]);
      await c.containers('Delete', { id });
    } finally {
      c.close();
    }
  });

  it('reads in a namespace that does not exist: NOT_FOUND, and it is not created', async () => {
    const ns = uid('shimd-ns');
    for (const args of [['images', 'ls'], ['images', 'rm', 'busybox'], ['images', 'unpack', 'busybox']]) {
      const r = await ctr(['-n', ns, ...args]);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(`namespace ${ns} not found (NOT_FOUND)`);
    }
    expect((await ctr(['namespaces', 'ls'])).stdout).not.toContain(ns);
  });

  it('an import creates its namespace (as containerd does); the namespace cannot go while it has images or containers', async () => {
    const ns = uid('shimd-ns');
    expect((await ctr(['-n', ns, 'images', 'import', fixtures().dockerArchive])).code).toBe(0);
    expect((await ctr(['namespaces', 'ls'])).stdout).toMatch(new RegExp(`^${ns}\\b`, 'm'));
    const refused = await ctr(['namespaces', 'rm', ns]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain(`namespace ${ns} must be empty, but it still has images (FAILED_PRECONDITION)`);

    const id = uid();
    expect((await ctr(['-n', ns, 'containers', 'create', 'busybox', id])).code).toBe(0);
    expect((await ctr(['-n', ns, 'images', 'rm', 'busybox'])).code).toBe(0);
    expect((await ctr(['namespaces', 'rm', ns])).stderr).toContain('still has containers (FAILED_PRECONDITION)');
    expect((await ctr(['-n', ns, 'containers', 'rm', id])).code).toBe(0);
    expect((await ctr(['namespaces', 'rm', ns])).code).toBe(0);
    expect((await ctr(['namespaces', 'ls'])).stdout).not.toContain(ns);
    expect(existsSync(join(shimd.root, 'meta', 'containers', ns, `${id}.json`))).toBe(false);
  });
});
