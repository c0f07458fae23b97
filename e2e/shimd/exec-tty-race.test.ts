// Terminal execs through berth-shimd must deliver every byte the process wrote to its
// pty, however late the shim gets to read. The shim reads the pty master through a
// libuv stream, and libuv ends a stream when epoll reports POLLHUP after a short read;
// a master reports POLLHUP as soon as the last slave fd closes, even while the
// slave's last writes are still queued in the kernel. The first test pins that case
// down deterministically (the shim is stopped while the process writes more than the
// line discipline's 4 KiB buffer and exits); the second runs the loop the loss was
// first seen in. Each runs with berth-runtime and with runc (the cause is in the shim).
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync, constants as fsc } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanupShimd, type Client, mkfifo, processesMatching, runtimeName, runtimes, type Shimd, specFor, startShimd, uid } from './helpers.js';

const EXECS = 100;

function processState(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /, '')[0] ?? '';
  } catch {
    return '';
  }
}

async function until(cond: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 1000; i++) {
    if (cond()) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`timed out waiting for ${what}`);
}

for (const runtime of runtimes) {
  describe(`terminal exec output through berth-shimd with ${runtimeName(runtime)}`, () => {
    let shimd: Shimd;
    let c: Client;
    let tmp: string;
    let id: string;
    let initPid: number;
    let shimPid: number;

    beforeAll(async () => {
      shimd = await startShimd(runtime);
      c = shimd.client();
      tmp = mkdtempSync(join(tmpdir(), 'shimd-ttyrace-'));
      id = uid();
      await c.containers('Create', { container: { id, spec: specFor(['sleep', '1000']) } });
      initPid = (await c.tasks('Create', { container_id: id })).pid;
      await c.tasks('Start', { container_id: id });
      const shims = processesMatching(id).filter((p) => readFileSync(`/proc/${p}/cmdline`, 'utf8').includes('berth-shim'));
      expect(shims).toHaveLength(1);
      shimPid = shims[0]!;
    });
    afterAll(async () => {
      if (shimPid) {
        try {
          process.kill(shimPid, 'SIGCONT');
        } catch {}
      }
      await c?.tasks('Kill', { container_id: id, signal: 9, all: true }).catch(() => {});
      await c?.tasks('Wait', { container_id: id }).catch(() => {});
      await c?.tasks('Delete', { container_id: id }).catch(() => {});
      await c?.containers('Delete', { id }).catch(() => {});
      c?.close();
      await cleanupShimd(shimd);
      rmSync(tmp, { recursive: true, force: true });
    });

    it('keeps the output a process wrote just before it exited while the shim was not reading', async () => {
      // 8000 bytes: more than n_tty's 4 KiB read buffer, so the rest is still in the
      // pty's flip buffer (8 KiB, beyond which the writer would block) when the shim's
      // first read returns.
      const size = 8000;
      const out = join(tmp, 'burst.out');
      writeFileSync(out, '');
      const gate = `/proc/${initPid}/root/dev/shm/burst-go`;
      const script = `while [ ! -e /dev/shm/burst-go ]; do usleep 10000; done; head -c ${size} /dev/zero | tr "\\0" x; echo END`;
      await c.tasks('Exec', { container_id: id, exec_id: 'burst', stdout: out, terminal: true, spec: JSON.stringify({ args: ['sh', '-c', script], cwd: '/', env: ['PATH=/bin'] }) });
      const { pid } = await c.tasks('Start', { container_id: id, exec_id: 'burst' });
      process.kill(shimPid, 'SIGSTOP');
      try {
        await until(() => processState(shimPid) === 'T', 'the shim to stop');
        writeFileSync(gate, '');
        // Exited and not yet reaped (the shim reaps it): every byte is written, the slave closed.
        await until(() => processState(pid) === 'Z', 'the exec to exit');
      } finally {
        process.kill(shimPid, 'SIGCONT');
      }
      expect((await c.tasks('Wait', { container_id: id, exec_id: 'burst' })).exit_status).toBe(0);
      const text = readFileSync(out, 'utf8');
      expect({ length: text.length, tail: text.slice(-8) }).toEqual({ length: size + 5, tail: 'xxxEND\r\n' });
      expect(text).toBe(`${'x'.repeat(size)}END\r\n`);
      await c.tasks('DeleteProcess', { container_id: id, exec_id: 'burst' });
      rmSync(gate, { force: true });
    });

    it(`${EXECS} terminal execs (read, stty size, echo) each deliver all their output`, async () => {
      const incomplete: string[] = [];
      for (let i = 0; i < EXECS; i++) {
        const execId = `tty${i}`;
        const out = join(tmp, `${execId}.out`);
        writeFileSync(out, '');
        const stdin = mkfifo(tmp, `${execId}.in`);
        const spec = JSON.stringify({ args: ['sh', '-c', 'read go; stty size; echo $$'], cwd: '/', env: ['PATH=/bin'] });
        await c.tasks('Exec', { container_id: id, exec_id: execId, stdin, stdout: out, terminal: true, spec });
        await c.tasks('Start', { container_id: id, exec_id: execId });
        await c.tasks('ResizePty', { container_id: id, exec_id: execId, width: 101, height: 33 });
        const w = openSync(stdin, fsc.O_WRONLY | fsc.O_NONBLOCK);
        writeFileSync(w, 'go\n');
        closeSync(w);
        expect((await c.tasks('Wait', { container_id: id, exec_id: execId })).exit_status).toBe(0);
        const text = readFileSync(out, 'utf8');
        // The echo of the input, then stty's answer, then the shell's pid.
        if (!/^go\r\n33 101\r\n\d+\r\n$/.test(text)) incomplete.push(`${execId}: ${JSON.stringify(text)}`);
        await c.tasks('DeleteProcess', { container_id: id, exec_id: execId });
        rmSync(out, { force: true });
        rmSync(stdin, { force: true });
      }
      expect(incomplete).toEqual([]);
    }, 600_000);
  });
}
