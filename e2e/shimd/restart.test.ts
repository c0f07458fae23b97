// Containers outlive berth-shimd: kill -9 it while tasks run, restart it, and
// everything is found again; exits that happened meanwhile are reported; a shim
// that died is cleaned up and its exit reported.
import { closeSync, existsSync, constants as fsc, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanupShimd, type Client, mkfifo, processesMatching, type Shimd, specFor, startShimd, uid, runtimeName, runtimes } from './helpers.js';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return !/\) Z /.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

for (const runtime of runtimes) {
  describe(`berth-shimd restart survival with ${runtimeName(runtime)}`, () => {
    let shimd: Shimd;
    let c: Client;
    let tmp: string;

    beforeAll(async () => {
      shimd = await startShimd(runtime);
      c = shimd.client();
      tmp = mkdtempSync(join(tmpdir(), 'shimd-restart-'));
    });
    afterAll(async () => {
      c?.close();
      await cleanupShimd(shimd);
      rmSync(tmp, { recursive: true, force: true });
    });

    it('finds running tasks, reports exits that happened while it was down, cleans up dead shims', async () => {
      const running = uid();
      const exits = uid();
      const dies = uid();
      const out = join(tmp, 'running.out');
      writeFileSync(out, '');
      // `running` copies stdin to stdout: its FIFO must still work after the restart.
      const stdin = mkfifo(tmp, 'running.in');
      await c.containers('Create', { container: { id: running, spec: specFor(['sh', '-c', 'echo before; cat; exit 5']) } });
      await c.containers('Create', { container: { id: exits, spec: specFor(['sh', '-c', 'sleep 1000']) } });
      await c.containers('Create', { container: { id: dies, spec: specFor(['sleep', '1000']) } });
      const pids: Record<string, number> = {};
      for (const id of [running, exits, dies]) {
        pids[id] = (await c.tasks('Create', { container_id: id, stdout: id === running ? out : '', stdin: id === running ? stdin : '' })).pid;
        await c.tasks('Start', { container_id: id });
      }
      const diesShim = JSON.parse(readFileSync(join(shimd.state, 'tasks', 'default', dies, 'task.json'), 'utf8')).shim_pid;

      await shimd.crash();
      c.close();
      // While shimd is down: one container exits, one shim is killed.
      process.kill(pids[exits]!, 'SIGKILL');
      process.kill(diesShim, 'SIGKILL');
      for (let i = 0; i < 100 && (alive(pids[exits]!) || alive(diesShim)); i++) await new Promise((r) => setTimeout(r, 20));

      await shimd.start();
      c = shimd.client();
      const sub = c.subscribe({ topics: ['/tasks/'] });

      const tasks = (await c.tasks('List')).tasks;
      const byId = Object.fromEntries(tasks.map((t: any) => [t.container_id, t]));
      expect(byId[running]).toMatchObject({ status: 'RUNNING', pid: pids[running] });
      expect(byId[exits]).toMatchObject({ status: 'STOPPED', exit_status: 137 });
      expect(byId[dies]).toMatchObject({ status: 'STOPPED', exit_status: 255 });
      // The dead shim's container was taken down with the runtime.
      expect(alive(pids[dies]!)).toBe(false);
      expect((await c.tasks('Wait', { container_id: exits })).exit_status).toBe(137);

      // stdio still flows and the exit status of the surviving task comes through the new shimd.
      const w = openSync(stdin, fsc.O_WRONLY | fsc.O_NONBLOCK);
      writeFileSync(w, 'after\n');
      closeSync(w);
      await c.tasks('CloseIO', { container_id: running, stdin: true });
      expect((await c.tasks('Wait', { container_id: running })).exit_status).toBe(5);
      expect(readFileSync(out, 'utf8')).toBe('before\nafter\n');
      await sub.next('/tasks/exit', (e) => e.container_id === running);

      for (const id of [running, exits, dies]) {
        await c.tasks('Delete', { container_id: id });
        await c.containers('Delete', { id });
        expect(existsSync(join(shimd.state, 'tasks', 'default', id))).toBe(false);
        expect(processesMatching(`--id ${id} `)).toEqual([]);
      }
      sub.close();
    });

    it('reports an exit published by the shim only once across a restart', async () => {
      const id = uid();
      await c.containers('Create', { container: { id, spec: specFor(['true']) } });
      await c.tasks('Create', { container_id: id });
      await c.tasks('Start', { container_id: id });
      expect((await c.tasks('Wait', { container_id: id })).exit_status).toBe(0);
      await shimd.crash();
      c.close();
      await shimd.start();
      c = shimd.client();
      const sub = c.subscribe({ topics: ['/tasks/'] });
      expect((await c.tasks('Get', { container_id: id })).process).toMatchObject({ status: 'STOPPED', exit_status: 0 });
      await c.tasks('Delete', { container_id: id });
      await sub.next('/tasks/delete', (e) => e.container_id === id);
      expect(sub.events.filter((e) => e.event.container_id === id).map((e) => e.topic)).toEqual(['/tasks/delete']);
      sub.close();
      await c.containers('Delete', { id });
    });
    it('survives a crash during Start: the task is found afterwards and can be finished', async () => {
      const id = uid();
      await c.containers('Create', { container: { id, spec: specFor(['sleep', '1000']) } });
      const { pid } = await c.tasks('Create', { container_id: id });
      const start = c.tasks('Start', { container_id: id }).catch((e) => e);
      await shimd.crash();
      await start;
      c.close();
      await shimd.start();
      c = shimd.client();
      const got = (await c.tasks('Get', { container_id: id })).process;
      expect(got.pid).toBe(pid);
      expect(['CREATED', 'RUNNING']).toContain(got.status);
      if (got.status === 'CREATED') await c.tasks('Start', { container_id: id });
      expect((await c.tasks('Get', { container_id: id })).process.status).toBe('RUNNING');
      await c.tasks('Kill', { container_id: id, signal: 9 });
      expect((await c.tasks('Wait', { container_id: id })).exit_status).toBe(137);
      await c.tasks('Delete', { container_id: id });
      await c.containers('Delete', { id });
      expect(processesMatching(`--id ${id} `)).toEqual([]);
      expect(existsSync(join(shimd.state, 'tasks', 'default', id))).toBe(false);
    });
  });
}
