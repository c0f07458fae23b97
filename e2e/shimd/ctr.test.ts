// `berth ctr` against a real berth-shimd: the verbs a user types.
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixtures } from '../fixtures/index.js';
import { bins } from '../helpers.js';
import { cleanupShimd, makeClient, mkfifo, type Shimd, specFor, startShimd, uid } from './helpers.js';

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

describe('berth ctr', () => {
  let shimd: Shimd;
  let tmp: string;
  const ctr = (args: string[], input = ''): Promise<Result> =>
    new Promise((resolve) => {
      const child = execFile(process.execPath, [bins.cli, 'ctr', '--address', shimd.address, ...args], (err, stdout, stderr) => {
        resolve({ code: err ? ((err as any).code ?? 1) : 0, stdout, stderr });
      });
      child.stdin!.end(input);
    });

  beforeAll(async () => {
    shimd = await startShimd();
    tmp = mkdtempSync(join(tmpdir(), 'shimd-ctr-'));
  });
  afterAll(async () => {
    await cleanupShimd(shimd);
    rmSync(tmp, { recursive: true, force: true });
  });

  it('run --rm relays stdin, stdout, stderr and the exit status, and leaves nothing', async () => {
    const id = uid();
    const r = await ctr(['run', '--rm', '--read-only', '--rootfs', fixtures().rootfs, id, 'sh', '-c', 'read x; echo out:$x; echo err >&2; exit 7'], 'hello\n');
    expect(r).toEqual({ code: 7, stdout: 'out:hello\n', stderr: 'err\n' });
    expect((await ctr(['containers', 'ls', '-q'])).stdout).toBe('');
    expect((await ctr(['tasks', 'ls', '-q'])).stdout).toBe('');
  });

  it('run -d, tasks ls/ps/exec/pause/resume/metrics/kill/delete, containers info/rm', async () => {
    const id = uid();
    expect((await ctr(['run', '-d', '--read-only', '--label', 'who=shimd-test', '--rootfs', fixtures().rootfs, id, 'sleep', '1000'])).stdout).toBe(`${id}\n`);
    const ls = await ctr(['tasks', 'ls']);
    expect(ls.stdout).toMatch(new RegExp(`^${id}\\s+\\d+\\s+RUNNING$`, 'm'));
    expect((await ctr(['containers', 'ls', '-q', 'who=shimd-test'])).stdout).toBe(`${id}\n`);
    const info = JSON.parse((await ctr(['containers', 'info', id])).stdout);
    expect(info).toMatchObject({ id, labels: { who: 'shimd-test' } });
    expect(info.spec.process.args).toEqual(['sleep', '1000']);
    expect((await ctr(['tasks', 'ps', id])).stdout).toMatch(/^PID\s+INFO\n\d+\s+-\n$/);
    const ex = await ctr(['tasks', 'exec', '--exec-id', 'e1', id, 'sh', '-c', 'echo from-exec; exit 3']);
    expect(ex).toMatchObject({ code: 3, stdout: 'from-exec\n' });
    expect((await ctr(['tasks', 'exec', '-t', '--exec-id', 'e2', id, 'tty'])).stdout).toMatch(/^\/dev\/pts\/\d+\r\n$/);
    expect((await ctr(['tasks', 'pause', id])).code).toBe(0);
    expect((await ctr(['tasks', 'ls'])).stdout).toMatch(new RegExp(`^${id}\\s+\\d+\\s+PAUSED$`, 'm'));
    expect((await ctr(['tasks', 'resume', id])).code).toBe(0);
    const m = JSON.parse((await ctr(['tasks', 'metrics', '--format', 'json', id])).stdout);
    expect(m[0]).toMatchObject({ container_id: id, pids: { current: 1 } });
    expect((await ctr(['tasks', 'kill', '-s', 'KILL', id])).code).toBe(0);
    expect((await ctr(['tasks', 'delete', id])).code).toBe(137);
    expect((await ctr(['containers', 'rm', id])).code).toBe(0);
    expect((await ctr(['containers', 'ls', '-q'])).stdout).toBe('');
  });

  it('namespaces ls/create/rm, -n, and errors named with their cause', async () => {
    const ns = uid();
    expect((await ctr(['namespaces', 'create', ns, 'a=b'])).code).toBe(0);
    expect((await ctr(['ns', 'ls'])).stdout).toMatch(new RegExp(`^${ns}\\s+a=b$`, 'm'));
    const id = uid();
    expect((await ctr(['-n', ns, 'run', '--rm', '--read-only', '--rootfs', fixtures().rootfs, id, 'true'])).code).toBe(0);
    expect((await ctr(['ns', 'rm', ns])).stdout).toBe(`${ns}\n`);
    // Nothing of the namespace is left in the cgroup tree either.
    expect(existsSync(`/sys/fs/cgroup/memory/berth/${ns}`)).toBe(false);
    const missing = await ctr(['-n', 'shimd-missing-ns', 'containers', 'ls']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('namespace shimd-missing-ns not found (NOT_FOUND)');
    const noTask = await ctr(['tasks', 'kill', 'shimd-no-such']);
    expect(noTask.stderr).toContain('container shimd-no-such not found');
    const usage = await ctr(['run', '--rm']);
    expect(usage.code).toBe(2);
    const noRootfs = await ctr(['run', '--rm', uid()]);
    expect(noRootfs.stderr).toContain('--rootfs');
    expect((await ctr(['containers', 'ls', '-q'])).stdout).toBe('');
  });

  it('tasks attach joins the FIFOs of a running task', async () => {
    const id = uid();
    const c = makeClient(shimd.address, 'default');
    const stdin = mkfifo(tmp, `${id}.in`);
    const stdout = mkfifo(tmp, `${id}.out`);
    await c.containers('Create', { container: { id, spec: specFor(['sh', '-c', 'read x; echo got:$x']) } });
    await c.tasks('Create', { container_id: id, stdin, stdout });
    await c.tasks('Start', { container_id: id });
    const r = await ctr(['tasks', 'attach', id], 'hello\n');
    expect(r).toMatchObject({ code: 0, stdout: 'got:hello\n' });
    await c.tasks('Delete', { container_id: id });
    await c.containers('Delete', { id });
    c.close();
  });

  it('events prints task events as they happen', async () => {
    const id = uid();
    const child = execFile(process.execPath, [bins.cli, 'ctr', '--address', shimd.address, 'events']);
    let out = '';
    child.stdout!.on('data', (d) => {
      out += d;
    });
    // Publish probes until the subscriber shows one: then its subscription is open.
    const probe = makeClient(shimd.address, 'default');
    for (let i = 0; i < 200 && !out.includes('/shimd-probe'); i++) {
      await probe.events('Publish', { topic: '/shimd-probe', event: '{}' });
      await new Promise((r) => setTimeout(r, 50));
    }
    probe.close();
    await ctr(['run', '--rm', '--read-only', '--rootfs', fixtures().rootfs, id, 'true']);
    for (let i = 0; i < 100 && !out.includes('/tasks/delete'); i++) await new Promise((r) => setTimeout(r, 20));
    child.kill('SIGINT');
    await new Promise((r) => child.once('exit', r));
    const topics = out
      .split('\n')
      .filter((l) => l.includes(id) && l.split(' ')[2]?.startsWith('/tasks/'))
      .map((l) => l.split(' ')[2]);
    expect(topics).toEqual(['/tasks/create', '/tasks/start', '/tasks/exit', '/tasks/delete']);
  });
});
