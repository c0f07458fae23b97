// Every RPC of berth-shimd's API against a real shimd and real containers.
import { existsSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync, closeSync, constants as fsc } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanupShimd, type Client, mkfifo, type Shimd, specFor, startShimd, uid, runtimeName, runtimes } from './helpers.js';

for (const runtime of runtimes) {
  describe(`berth-shimd API with ${runtimeName(runtime)}`, () => {
    let shimd: Shimd;
    let c: Client;
    let tmp: string;

    beforeAll(async () => {
      shimd = await startShimd(runtime);
      c = shimd.client();
      tmp = mkdtempSync(join(tmpdir(), 'shimd-api-'));
    });
    afterAll(async () => {
      c?.close();
      await cleanupShimd(shimd);
      rmSync(tmp, { recursive: true, force: true });
    });

    it('Namespaces: Create, Get, List, Update, Delete (refused while not empty)', async () => {
      const ns = uid();
      const n = await c.namespaces('Create', { namespace: { name: ns, labels: { a: '1' } } });
      expect(n).toEqual({ name: ns, labels: { a: '1' } });
      expect(await c.namespaces('Get', { name: ns })).toEqual(n);
      const { namespaces } = await c.namespaces('List');
      expect(namespaces.map((x: any) => x.name)).toContain(ns);
      expect(await c.namespaces('Update', { namespace: { name: ns, labels: { b: '2' } } })).toEqual({ name: ns, labels: { b: '2' } });
      const nc = shimd.client(ns);
      const id = uid();
      await nc.containers('Create', { container: { id, spec: specFor(['true']) } });
      // The container lives in its namespace only.
      await expect(c.containers('Get', { id })).rejects.toMatchObject({ code: 5 });
      await expect(c.namespaces('Delete', { name: ns })).rejects.toMatchObject({ code: 9 });
      await nc.containers('Delete', { id });
      nc.close();
      await c.namespaces('Delete', { name: ns });
      await expect(c.namespaces('Get', { name: ns })).rejects.toMatchObject({ code: 5 });
    });

    it('Containers: Create, Get, List with label filter, Update, Delete', async () => {
      const a = uid();
      const b = uid();
      const spec = specFor(['true']);
      const created = (
        await c.containers('Create', {
          container: { id: a, labels: { role: 'web', tier: 'x' }, image: 'busybox', runtime: { name: 'runc' }, spec },
        })
      ).container;
      expect(created).toMatchObject({ id: a, labels: { role: 'web', tier: 'x' }, image: 'busybox', runtime: { name: 'runc' } });
      expect(JSON.parse(created.spec).process.args).toEqual(['true']);
      expect(created.created_at).toBe(created.updated_at);
      await c.containers('Create', { container: { id: b, labels: { role: 'db' }, spec } });
      expect((await c.containers('Get', { id: a })).container).toEqual(created);
      const web = (await c.containers('List', { labels: { role: 'web' } })).containers.map((x: any) => x.id);
      expect(web).toEqual([a]);
      const withRole = (await c.containers('List', { labels: { role: '' } })).containers.map((x: any) => x.id);
      expect(withRole.sort()).toEqual([a, b].sort());
      const upd = (await c.containers('Update', { container: { id: a, labels: { role: 'api' } }, update_mask: ['labels.role'] })).container;
      expect(upd.labels).toEqual({ role: 'api', tier: 'x' });
      expect(upd.updated_at > created.updated_at).toBe(true);
      const upd2 = (await c.containers('Update', { container: { id: a, image: 'alpine', labels: {} , spec }, update_mask: ['image'] })).container;
      expect(upd2.image).toBe('alpine');
      expect(upd2.labels).toEqual({ role: 'api', tier: 'x' });
      await c.containers('Delete', { id: a });
      await c.containers('Delete', { id: b });
      await expect(c.containers('Get', { id: a })).rejects.toMatchObject({ code: 5 });
      // The record store holds no trace of them.
      expect(existsSync(join(shimd.root, 'meta', 'containers', 'default', `${a}.json`))).toBe(false);
    });

    it('Tasks: Get, List, ListPids, Metrics, Pause, Resume, Update, Exec, DeleteProcess, Kill all', async () => {
      const id = uid();
      const sub = c.subscribe({ topics: ['/tasks/'], namespaces: ['default'] });
      await c.containers('Create', { container: { id, spec: specFor(['sleep', '1000']) } });
      const { pid } = await c.tasks('Create', { container_id: id });
      await c.tasks('Start', { container_id: id });

      const got = (await c.tasks('Get', { container_id: id })).process;
      expect(got).toMatchObject({ container_id: id, pid, status: 'RUNNING' });
      const { tasks } = await c.tasks('List');
      expect(tasks.find((t: any) => t.container_id === id)).toMatchObject({ pid, status: 'RUNNING' });
      expect((await c.tasks('ListPids', { container_id: id })).processes).toEqual([{ pid, exec_id: '' }]);

      const [m] = (await c.tasks('Metrics', { container_ids: [id] })).metrics;
      expect(m.container_id).toBe(id);
      expect(m.memory.usage).toBeGreaterThan(0);
      expect(m.pids.current).toBe(1);
      expect(m.cpu.usage_total_ns).toBeGreaterThan(0);

      await c.tasks('Pause', { container_id: id });
      expect((await c.tasks('Get', { container_id: id })).process.status).toBe('PAUSED');
      await c.tasks('Resume', { container_id: id });
      expect((await c.tasks('Get', { container_id: id })).process.status).toBe('RUNNING');

      await c.tasks('Update', { container_id: id, resources: JSON.stringify({ pids: { limit: 50 } }) });
      expect((await c.tasks('Metrics', { container_ids: [id] })).metrics[0].pids.limit).toBe(50);

      // Exec with stdio through FIFOs and stdin closed by CloseIO.
      const execId = 'cat1';
      const stdin = mkfifo(tmp, `${id}-in`);
      const stdout = mkfifo(tmp, `${id}-out`);
      const reader = new net.Socket({ fd: openSync(stdout, fsc.O_RDONLY | fsc.O_NONBLOCK), readable: true, writable: false });
      const holder = openSync(stdout, fsc.O_WRONLY | fsc.O_NONBLOCK);
      let output = '';
      reader.on('data', (d) => {
        output += d;
      });
      const eof = new Promise((r) => reader.on('close', r));
      await c.tasks('Exec', { container_id: id, exec_id: execId, stdin, stdout, spec: JSON.stringify({ args: ['cat'], cwd: '/', env: ['PATH=/bin'] }) });
      const { pid: execPid } = await c.tasks('Start', { container_id: id, exec_id: execId });
      closeSync(holder);
      expect(execPid).toBeGreaterThan(0);
      const pids = (await c.tasks('ListPids', { container_id: id })).processes;
      expect(pids).toContainEqual({ pid: execPid, exec_id: execId });
      const w = openSync(stdin, fsc.O_WRONLY | fsc.O_NONBLOCK);
      writeFileSync(w, 'through the fifo\n');
      closeSync(w);
      await c.tasks('CloseIO', { container_id: id, exec_id: execId, stdin: true });
      expect((await c.tasks('Wait', { container_id: id, exec_id: execId })).exit_status).toBe(0);
      await eof;
      expect(output).toBe('through the fifo\n');
      expect((await c.tasks('Get', { container_id: id, exec_id: execId })).process.status).toBe('STOPPED');
      const dp = await c.tasks('DeleteProcess', { container_id: id, exec_id: execId });
      expect(dp).toMatchObject({ id: execId, pid: execPid, exit_status: 0 });
      await expect(c.tasks('Get', { container_id: id, exec_id: execId })).rejects.toMatchObject({ code: 5 });

      // A terminal exec: ResizePty reaches the pty.
      const ttyOut = join(tmp, `${id}-tty.out`);
      writeFileSync(ttyOut, '');
      const ttyIn = mkfifo(tmp, `${id}-tty.in`);
      await c.tasks('Exec', { container_id: id, exec_id: 'tty1', stdin: ttyIn, stdout: ttyOut, terminal: true, spec: JSON.stringify({ args: ['sh', '-c', 'read go; stty size'], cwd: '/', env: ['PATH=/bin'] }) });
      await c.tasks('Start', { container_id: id, exec_id: 'tty1' });
      await c.tasks('ResizePty', { container_id: id, exec_id: 'tty1', width: 101, height: 33 });
      const go = openSync(ttyIn, fsc.O_WRONLY | fsc.O_NONBLOCK);
      writeFileSync(go, 'go\n');
      closeSync(go);
      expect((await c.tasks('Wait', { container_id: id, exec_id: 'tty1' })).exit_status).toBe(0);
      // (exec-tty-race.test.ts covers the output lost when the process exits before the shim reads)
      expect(readFileSync(ttyOut, 'utf8')).toContain('33 101\r\n');
      await c.tasks('DeleteProcess', { container_id: id, exec_id: 'tty1' });

      await c.tasks('Kill', { container_id: id, signal: 9, all: true });
      expect((await c.tasks('Wait', { container_id: id })).exit_status).toBe(137);
      await c.tasks('Delete', { container_id: id });
      await sub.next('/tasks/delete', (e) => e.container_id === id && e.id === id);
      const topics = sub.events.filter((e) => e.event.container_id === id).map((e) => e.topic);
      expect(topics).toEqual([
        '/tasks/create', '/tasks/start', '/tasks/paused', '/tasks/resumed',
        '/tasks/exec-added', '/tasks/exec-started', '/tasks/exit', '/tasks/delete',
        '/tasks/exec-added', '/tasks/exec-started', '/tasks/exit', '/tasks/delete',
        '/tasks/exit', '/tasks/delete',
      ]);
      sub.close();
      await c.containers('Delete', { id });
    });

    it('Tasks: a terminal init gets a pty, with stdin from a FIFO', async () => {
      const id = uid();
      const out = join(tmp, `${id}.out`);
      writeFileSync(out, '');
      const stdin = mkfifo(tmp, `${id}-in`);
      await c.containers('Create', { container: { id, spec: specFor(['sh', '-c', 'tty; read line; echo got:$line']) } });
      await c.tasks('Create', { container_id: id, stdin, stdout: out, terminal: true });
      await c.tasks('Start', { container_id: id });
      const w = openSync(stdin, fsc.O_WRONLY | fsc.O_NONBLOCK);
      writeFileSync(w, 'typed\n');
      closeSync(w);
      expect((await c.tasks('Wait', { container_id: id })).exit_status).toBe(0);
      const text = readFileSync(out, 'utf8');
      // The pty echoes input, so "typed" may come before or after tty's answer.
      expect(text).toMatch(/^\/dev\/pts\/\d+\r$/m);
      expect(text).toContain('got:typed\r\n');
      await c.tasks('Delete', { container_id: id });
      await c.containers('Delete', { id });
    });

    it('Tasks: an OOM kill is reported as /tasks/oom before /tasks/exit', async () => {
      const id = uid();
      const sub = c.subscribe({ topics: ['/tasks/oom', '/tasks/exit'] });
      const limit = 16 * 1024 * 1024;
      const spec = specFor(['dd', 'if=/dev/zero', 'of=/dev/null', 'bs=64M', 'count=1'], (cfg) => {
        cfg.linux.resources.memory = { limit, swap: limit };
      });
      await c.containers('Create', { container: { id, spec } });
      await c.tasks('Create', { container_id: id });
      await c.tasks('Start', { container_id: id });
      expect((await c.tasks('Wait', { container_id: id })).exit_status).toBe(137);
      await sub.next('/tasks/exit', (e) => e.container_id === id);
      expect(sub.events.filter((e) => e.event.container_id === id).map((e) => e.topic)).toEqual(['/tasks/oom', '/tasks/exit']);
      sub.close();
      await c.tasks('Delete', { container_id: id });
      await c.containers('Delete', { id });
    });

    it('Events: Subscribe filters by topic and namespace; Publish', async () => {
      const all = c.subscribe();
      const onlyCustom = c.subscribe({ topics: ['/custom/thing'] });
      const otherNs = c.subscribe({ namespaces: ['nowhere'] });
      await new Promise((r) => setTimeout(r, 100)); // let the streams open
      await c.events('Publish', { topic: '/custom/thing', event: JSON.stringify({ n: 1 }) });
      await c.events('Publish', { topic: '/custom/other', event: JSON.stringify({ n: 2 }) });
      const e = await onlyCustom.next('/custom/thing');
      expect(e).toMatchObject({ namespace: 'default', topic: '/custom/thing', event: { n: 1 } });
      await all.next('/custom/other');
      expect(onlyCustom.events.map((x) => x.topic)).toEqual(['/custom/thing']);
      expect(otherNs.events).toEqual([]);
      await expect(c.events('Publish', { topic: 'no-slash', event: '{}' })).rejects.toMatchObject({ code: 3 });
      await expect(c.events('Publish', { topic: '/x', event: '{not json' })).rejects.toMatchObject({ code: 3 });
      for (const s of [all, onlyCustom, otherNs]) s.close();
    });
  });
}
