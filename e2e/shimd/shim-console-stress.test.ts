// Terminal execs under load must not corrupt the shim's native heap. Each terminal
// exec makes the shim receive the pty master the runtime sends over its
// --console-socket (SCM_RIGHTS) through koffi calls. When that receive ran on libuv's
// threadpool and the bundler dropped the statement that kept its buffers referenced,
// the GC freed them while recvmsg still held their addresses, and the kernel wrote
// the runtime's message into freed malloc memory: the shim aborted with
// "free(): corrupted unsorted chunks" within 19 to 1,049 execs with runc (once runc
// failed with EPIPE instead: the shim's recvmsg had already given up on the socket). The shim runs with
// MALLOC_PERTURB_ (and MALLOC_CHECK_, where glibc honours it) so such damage shows sooner.
import { execFileSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync, constants as fsc } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanupShimd, type Client, mkfifo, processesMatching, runtimeName, runtimes, type Shimd, specFor, startShimd, uid } from './helpers.js';

const EXECS = Number(process.env.BERTH_SHIM_STRESS_EXECS) || 300;

function alive(pid: number): boolean {
  try {
    return !readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /, '').startsWith('Z');
  } catch {
    return false;
  }
}

/** The end of the shim's log (its stderr: a glibc abort message lands there). */
function shimLogTail(dir: string): string {
  const found = execFileSync('find', [dir, '-name', 'shim.log'], { encoding: 'utf8' }).split('\n').filter(Boolean);
  return found.map((f) => readFileSync(f, 'utf8').slice(-2000)).join('\n') || 'no shim.log';
}

for (const runtime of runtimes) {
  describe(`berth-shim heap under terminal execs with ${runtimeName(runtime)}`, () => {
    let shimd: Shimd;
    let c: Client;
    let tmp: string;
    let id: string;
    let shimPid = 0;
    const saved = { check: process.env.MALLOC_CHECK_, perturb: process.env.MALLOC_PERTURB_ };

    beforeAll(async () => {
      // Inherited by berth-shimd and from it by the shim.
      process.env.MALLOC_CHECK_ = '3';
      process.env.MALLOC_PERTURB_ = '165';
      try {
        shimd = await startShimd(runtime);
      } finally {
        for (const [k, v] of [['MALLOC_CHECK_', saved.check], ['MALLOC_PERTURB_', saved.perturb]] as const) {
          if (v === undefined) delete process.env[k];
          else process.env[k] = v;
        }
      }
      c = shimd.client();
      tmp = mkdtempSync(join(tmpdir(), 'shimd-heap-'));
      id = uid();
      await c.containers('Create', { container: { id, spec: specFor(['sleep', '1000']) } });
      await c.tasks('Create', { container_id: id });
      await c.tasks('Start', { container_id: id });
      const shims = processesMatching(id).filter((p) => readFileSync(`/proc/${p}/cmdline`, 'utf8').includes('berth-shim'));
      expect(shims).toHaveLength(1);
      shimPid = shims[0]!;
    });
    afterAll(async () => {
      await c?.tasks('Kill', { container_id: id, signal: 9, all: true }).catch(() => {});
      await c?.tasks('Wait', { container_id: id }).catch(() => {});
      await c?.tasks('Delete', { container_id: id }).catch(() => {});
      await c?.containers('Delete', { id }).catch(() => {});
      c?.close();
      await cleanupShimd(shimd);
      if (tmp) rmSync(tmp, { recursive: true, force: true });
    });

    it(`${EXECS} terminal execs leave the shim running`, async () => {
      let done = 0;
      for (let i = 0; i < EXECS; i++) {
        const execId = `heap${i}`;
        const out = join(tmp, `${execId}.out`);
        writeFileSync(out, '');
        const stdin = mkfifo(tmp, `${execId}.in`);
        const spec = JSON.stringify({ args: ['sh', '-c', 'read go; stty size'], cwd: '/', env: ['PATH=/bin'] });
        try {
          await c.tasks('Exec', { container_id: id, exec_id: execId, stdin, stdout: out, terminal: true, spec });
          await c.tasks('Start', { container_id: id, exec_id: execId });
          await c.tasks('ResizePty', { container_id: id, exec_id: execId, width: 90, height: 20 });
          const w = openSync(stdin, fsc.O_WRONLY | fsc.O_NONBLOCK);
          writeFileSync(w, 'go\n');
          closeSync(w);
          await c.tasks('Wait', { container_id: id, exec_id: execId });
          await c.tasks('DeleteProcess', { container_id: id, exec_id: execId });
        } catch (err) {
          if (alive(shimPid)) throw new Error(`exec ${i}: ${(err as Error).message}`);
          break;
        }
        rmSync(out, { force: true });
        rmSync(stdin, { force: true });
        if (!alive(shimPid)) break;
        done++;
      }
      const shimLog = alive(shimPid) ? '' : shimLogTail(shimd.dir);
      expect({ done, shimAlive: alive(shimPid), shimLog }).toEqual({ done: EXECS, shimAlive: true, shimLog: '' });
    }, 1_800_000);
  });
}
