// Execs and the shim: an exec's output stays out of the container's json-file log,
// and every exec the shim started is reaped, so none blocks the init's exit.
import { chmodSync, closeSync, constants as fsc, existsSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Client, cleanupShimd, mkfifo, runtimeName, runtimes, type Shimd, specFor, startShimd, uid } from './helpers.js';

/** The parent of a process (for a container's init: its shim). */
function ppidOf(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
}

/** A process's children, over all its threads, with their state letter. */
function childrenOf(pid: number): { pid: number; state: string }[] {
  const out: { pid: number; state: string }[] = [];
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    let text = '';
    try {
      text = readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8');
    } catch {
      continue;
    }
    for (const w of text.split(' ').filter((x) => x.trim())) {
      try {
        const stat = readFileSync(`/proc/${w}/stat`, 'utf8');
        out.push({ pid: Number(w), state: stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0]! });
      } catch {}
    }
  }
  return out;
}

for (const runtime of runtimes) {
  describe(`berth-shim execs with ${runtimeName(runtime)}`, () => {
    let shimd: Shimd;
    let c: Client;
    let tmp: string;
    /** Further shimds a test starts: cleaned up here, even when that test hangs. */
    const extra: Shimd[] = [];

    beforeAll(async () => {
      shimd = await startShimd(runtime);
      c = shimd.client();
      tmp = mkdtempSync(join(tmpdir(), 'shimd-exec-'));
    });
    afterAll(async () => {
      c?.close();
      await cleanupShimd(shimd);
      for (const s of extra) await cleanupShimd(s);
      rmSync(tmp, { recursive: true, force: true });
    });

    it("an exec's output goes to its own FIFO, not to the container's json-file log", async () => {
      const id = uid();
      const log = join(tmp, `${id}.log`);
      await c.containers('Create', { container: { id, spec: specFor(['sh', '-c', 'echo from-init; exec sleep 1000']) } });
      await c.tasks('Create', { container_id: id, log_path: log, log_format: 'json-file' });
      await c.tasks('Start', { container_id: id });

      const stdout = mkfifo(tmp, `${id}-out`);
      const reader = new net.Socket({ fd: openSync(stdout, fsc.O_RDONLY | fsc.O_NONBLOCK), readable: true, writable: false });
      const holder = openSync(stdout, fsc.O_WRONLY | fsc.O_NONBLOCK);
      let output = '';
      reader.on('data', (d) => {
        output += d;
      });
      const eof = new Promise((r) => reader.on('close', r));
      const marker = `exec-marker-${id}`;
      try {
        await c.tasks('Exec', { container_id: id, exec_id: 'echo1', stdout, spec: JSON.stringify({ args: ['echo', marker], cwd: '/', env: ['PATH=/bin'] }) });
        await c.tasks('Start', { container_id: id, exec_id: 'echo1' });
      } finally {
        closeSync(holder);
      }
      expect((await c.tasks('Wait', { container_id: id, exec_id: 'echo1' })).exit_status).toBe(0);
      await eof;
      expect(output).toBe(`${marker}\n`);
      await c.tasks('DeleteProcess', { container_id: id, exec_id: 'echo1' });

      await c.tasks('Kill', { container_id: id, signal: 9 });
      expect((await c.tasks('Wait', { container_id: id })).exit_status).toBe(137);
      await c.tasks('Delete', { container_id: id });
      await c.containers('Delete', { id });
      const text = readFileSync(log, 'utf8');
      const recs = text
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l));
      expect(recs.map((r) => r.log)).toEqual(['from-init\n']);
      expect(text).not.toContain(marker);
    });

    it('30 short execs are all reaped: no zombie under the shim, and the killed task exits', async () => {
      const id = uid();
      await c.containers('Create', { container: { id, spec: specFor(['sleep', '1000']) } });
      const { pid } = await c.tasks('Create', { container_id: id });
      await c.tasks('Start', { container_id: id });
      const shim = ppidOf(pid);
      expect(readFileSync(`/proc/${shim}/cmdline`, 'utf8')).toContain(id);

      // In batches of 5 at once, so exits race with other execs' launches.
      for (let b = 0; b < 6; b++) {
        await Promise.all(
          Array.from({ length: 5 }, async (_, i) => {
            const execId = `true${b * 5 + i}`;
            await c.tasks('Exec', { container_id: id, exec_id: execId, spec: JSON.stringify({ args: ['true'], cwd: '/', env: ['PATH=/bin'] }) });
            await c.tasks('Start', { container_id: id, exec_id: execId });
            expect((await c.tasks('Wait', { container_id: id, exec_id: execId })).exit_status).toBe(0);
            await c.tasks('DeleteProcess', { container_id: id, exec_id: execId });
          }),
        );
      }
      // Every exec has been waited for: the shim's only child is the init, and no zombie.
      expect(childrenOf(shim).filter((p) => p.state === 'Z')).toEqual([]);
      expect(childrenOf(shim).map((p) => p.pid)).toEqual([pid]);

      await c.tasks('Kill', { container_id: id, signal: 9 });
      expect((await c.tasks('Wait', { container_id: id })).exit_status).toBe(137);
      expect(existsSync(`/proc/${pid}`)).toBe(false);
      expect(childrenOf(shim)).toEqual([]);
      await c.tasks('Delete', { container_id: id });
      await c.containers('Delete', { id });
    });

    it('an exec the runtime started but reported failed is reaped, so the killed init still exits', async () => {
      // A runtime that starts the exec, then exits 1: the shim never learns the exec's
      // pid from a successful launch, and the exec (`true`) becomes its unknown zombie.
      const wrapper = join(tmp, 'failing-exec-runtime');
      writeFileSync(wrapper, `#!/bin/sh\nfor a in "$@"; do if [ "$a" = exec ]; then '${runtime}' "$@"; exit 1; fi; done\nexec '${runtime}' "$@"\n`);
      chmodSync(wrapper, 0o755);
      const other = await startShimd(wrapper);
      extra.push(other);
      const oc = other.client();
      try {
        const id = uid();
        await oc.containers('Create', { container: { id, spec: specFor(['sleep', '1000']) } });
        const { pid } = await oc.tasks('Create', { container_id: id });
        await oc.tasks('Start', { container_id: id });
        const shim = ppidOf(pid);
        await oc.tasks('Exec', { container_id: id, exec_id: 'lost', spec: JSON.stringify({ args: ['true'], cwd: '/', env: ['PATH=/bin'] }) });
        await expect(oc.tasks('Start', { container_id: id, exec_id: 'lost' })).rejects.toMatchObject({ details: expect.stringContaining('exec') });
        await oc.tasks('Kill', { container_id: id, signal: 9 });
        // An unreaped exec (a pid of the container's namespace) would keep the init from exiting.
        expect((await oc.tasks('Wait', { container_id: id })).exit_status).toBe(137);
        expect(childrenOf(shim)).toEqual([]);
        await oc.tasks('Delete', { container_id: id });
        await oc.containers('Delete', { id });
      } finally {
        oc.close();
      }
    });
  });
}
