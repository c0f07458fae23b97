// The task lifecycle through berth-shimd, once per runtime under test (berth-runtime
// and runc by default; BERTH_SHIMD_RUNTIMES=runc runs one).
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cgroupExists, cleanupShimd, type Client, processesMatching, rootfsMounts, runtimeName, runtimes, type Shimd, specFor, startShimd, uid } from './helpers.js';

for (const runtime of runtimes) {
  describe(`task lifecycle with ${runtimeName(runtime)}`, () => {
    let shimd: Shimd;
    let c: Client;
    let tmp: string;

    beforeAll(async () => {
      shimd = await startShimd(runtime);
      c = shimd.client();
      tmp = mkdtempSync(join(tmpdir(), 'shimd-life-'));
    });
    afterAll(async () => {
      c?.close();
      await cleanupShimd(shimd);
      rmSync(tmp, { recursive: true, force: true });
    });

    it('runs a process to its exit: output, exit status, events in order, nothing left', async () => {
      const id = uid();
      const sub = c.subscribe({ topics: ['/tasks/'] });
      const out = join(tmp, `${id}.out`);
      const err = join(tmp, `${id}.err`);
      writeFileSync(out, '');
      writeFileSync(err, '');
      await c.containers('Create', { container: { id, spec: specFor(['sh', '-c', 'echo hello; echo oops >&2; exit 3']) } });
      const created = await c.tasks('Create', { container_id: id, stdout: out, stderr: err });
      expect(created.pid).toBeGreaterThan(0);
      expect((await c.tasks('Get', { container_id: id })).process.status).toBe('CREATED');
      await c.tasks('Start', { container_id: id });
      const w = await c.tasks('Wait', { container_id: id });
      expect(w.exit_status).toBe(3);
      expect(w.exited_at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z$/);
      const d = await c.tasks('Delete', { container_id: id });
      expect(d.exit_status).toBe(3);
      await sub.next('/tasks/delete', (e) => e.container_id === id);
      const topics = sub.events.filter((e) => e.event.container_id === id).map((e) => e.topic);
      expect(topics).toEqual(['/tasks/create', '/tasks/start', '/tasks/exit', '/tasks/delete']);
      sub.close();
      expect(readFileSync(out, 'utf8')).toBe('hello\n');
      expect(readFileSync(err, 'utf8')).toBe('oops\n');
      await c.containers('Delete', { id });
      // The shim is gone and left nothing: bundle, socket, cgroup.
      expect(processesMatching(`--id ${id} `)).toEqual([]);
      expect(existsSync(join(shimd.state, 'tasks', 'default', id))).toBe(false);
      expect(cgroupExists('default', id)).toBe(false);
    });

    it('writes json-file logs with rotation, from a rootfs given as mounts', async () => {
      const id = uid();
      const log = join(tmp, `${id}.log`);
      const script = 'i=0; while [ $i -lt 60 ]; do echo line-$i; i=$((i+1)); done; echo to-stderr >&2';
      await c.containers('Create', { container: { id, spec: specFor(['sh', '-c', script]), rootfs_mounts: rootfsMounts() } });
      await c.tasks('Create', { container_id: id, log_path: log, log_format: 'json-file', log_options: { 'max-size': '1k', 'max-file': '3' } });
      await c.tasks('Start', { container_id: id });
      expect((await c.tasks('Wait', { container_id: id })).exit_status).toBe(0);
      await c.tasks('Delete', { container_id: id });
      await c.containers('Delete', { id });
      const files = [`${log}.2`, `${log}.1`, log].filter((f) => existsSync(f));
      expect(existsSync(`${log}.1`)).toBe(true);
      expect(existsSync(`${log}.3`)).toBe(false);
      const recs = files.flatMap((f) =>
        readFileSync(f, 'utf8')
          .split('\n')
          .filter(Boolean)
          .map((l) => JSON.parse(l)),
      );
      for (const r of recs) {
        expect(Object.keys(r).sort()).toEqual(['log', 'stream', 'time']);
        expect(r.time).toMatch(/Z$/);
      }
      expect(readFileSync(log, 'utf8').length).toBeLessThanOrEqual(1024);
      expect(recs.find((r) => r.stream === 'stderr')?.log).toBe('to-stderr\n');
      const lines = recs.filter((r) => r.stream === 'stdout').map((r) => r.log);
      expect(lines.at(-1)).toBe('line-59\n');
      expect(existsSync(join(shimd.state, 'tasks', 'default', id))).toBe(false);
    });

    it('kills a running task and reports the signal in the exit status', async () => {
      const id = uid();
      await c.containers('Create', { container: { id, spec: specFor(['sleep', '1000']) } });
      await c.tasks('Create', { container_id: id });
      await c.tasks('Start', { container_id: id });
      expect((await c.tasks('Get', { container_id: id })).process.status).toBe('RUNNING');
      await expect(c.tasks('Delete', { container_id: id })).rejects.toMatchObject({ code: 9 /* FAILED_PRECONDITION */ });
      await c.tasks('Kill', { container_id: id, signal: 9 });
      expect((await c.tasks('Wait', { container_id: id })).exit_status).toBe(137);
      expect((await c.tasks('Delete', { container_id: id })).exit_status).toBe(137);
      await c.containers('Delete', { id });
    });

    it('deletes a created task that never started', async () => {
      const id = uid();
      await c.containers('Create', { container: { id, spec: specFor(['sleep', '1000']) } });
      const { pid } = await c.tasks('Create', { container_id: id });
      expect(existsSync(`/proc/${pid}`)).toBe(true);
      await c.tasks('Delete', { container_id: id });
      await c.containers('Delete', { id });
      expect(processesMatching(`--id ${id} `)).toEqual([]);
      expect(existsSync(join(shimd.state, 'tasks', 'default', id))).toBe(false);
    });
  });
}
