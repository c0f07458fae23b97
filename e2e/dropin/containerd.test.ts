// berth-runtime as runc's drop-in under containerd (Debian's containerd and ctr,
// through containerd-shim-runc-v2): `ctr run --runc-binary <berth-runtime>` with
// plain stdio and with a tty (console socket), and `ctr task exec`. Every case
// runs against runc too, the reference, and must give the same output and status.
// containerd runs on its own config, root, state and sockets in a temp dir and is
// stopped by PID.
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixtures } from '../fixtures/index.js';
import {
  canRunDropin,
  type Daemon,
  type InstalledRuntime,
  inTerminal,
  installRuntime,
  processesMatching,
  type Result,
  run,
  sh,
  startContainerd,
  sweep,
  tempDir,
  uniqueId,
  waitFor,
  which,
} from './helpers.js';

const NS = 'berth-dropin';
const IMAGE = 'docker.io/library/busybox:latest';
const present = !!(which('containerd') && which('ctr') && which('containerd-shim-runc-v2'));
if (!present) console.warn('containerd drop-in suite skipped: containerd, ctr or containerd-shim-runc-v2 is not installed (apt-get install containerd)');

describe.skipIf(!canRunDropin || !present)('berth-runtime under containerd (ctr --runc-binary)', () => {
  let dir: string;
  let address: string;
  let runcRoot: string;
  let containerd: Daemon | undefined;
  let berth: InstalledRuntime;
  const runtimes: [string, () => string][] = [
    ['berth-runtime', () => berth.path],
    ['runc', () => 'runc'],
  ];

  const ctr = (args: string[], input?: string): Result => run('ctr', ['-a', address, '-n', NS, ...args], { input });
  const ctrLine = (args: string[]): string => ['ctr', '-a', address, '-n', NS, ...args].map(sh).join(' ');
  const runFlags = (rt: string) => ['--runc-binary', rt, '--runc-root', runcRoot];

  beforeAll(async () => {
    berth = installRuntime();
    dir = tempDir('containerd');
    runcRoot = join(dir, 'runc');
    // Known before containerd starts, so that the sweep in afterAll finds its shims either way.
    address = join(dir, 'containerd.sock');
    containerd = (await startContainerd(dir)).daemon;
    const imp = ctr(['images', 'import', '--all-platforms', fixtures().ociArchive]);
    expect(imp.status, imp.stderr).toBe(0);
    expect(ctr(['images', 'ls', '-q']).stdout).toContain(IMAGE);
  });

  afterAll(async () => {
    if (containerd) {
      for (const id of ctr(['tasks', 'ls', '-q']).stdout.split('\n').filter(Boolean)) ctr(['tasks', 'kill', '-s', 'SIGKILL', id]);
      for (const id of ctr(['containers', 'ls', '-q']).stdout.split('\n').filter(Boolean)) {
        ctr(['tasks', 'rm', '-f', id]);
        ctr(['containers', 'rm', id]);
      }
      await containerd.stop();
    }
    // Shims outlive containerd by design; ours carry its socket address in argv.
    const left = dir ? sweep(dir, address, [NS]) : [];
    berth?.remove();
    expect(left).toEqual([]);
  });

  describe.each(runtimes)('%s', (name, rt) => {
    it('ctr run prints the output and returns the exit status', () => {
      const id = uniqueId('ctd');
      const r = ctr(['run', '--rm', ...runFlags(rt()), IMAGE, id, 'sh', '-c', 'echo hello as pid $$; id -u; exit 3']);
      expect(r.stderr).toBe('');
      expect(r.stdout).toBe('hello as pid 1\n0\n');
      expect(r.status).toBe(3);
      expect(ctr(['containers', 'ls', '-q']).stdout).not.toContain(id);
    });

    it('ctr run passes stdin through', () => {
      const id = uniqueId('ctd');
      const r = ctr(['run', '--rm', ...runFlags(rt()), IMAGE, id, 'sh', '-c', 'read line; echo "got $line"'], 'a line\n');
      expect(r.stdout).toBe('got a line\n');
      expect(r.status).toBe(0);
    });

    it('ctr run -t gives the process a terminal (console socket)', () => {
      const id = uniqueId('ctd');
      const r = inTerminal(ctrLine(['run', '--rm', '-t', ...runFlags(rt()), IMAGE, id, 'sh', '-c', 'tty; test -t 0 && echo stdin-is-tty; exit 5']));
      expect(r.stdout).toMatch(/\/dev\/pts\/\d+\r*\n/);
      expect(r.stdout).toContain('stdin-is-tty');
      expect(r.status).toBe(5);
    });

    it('ctr task exec runs in the running container, with and without a tty', async () => {
      const id = uniqueId('ctd');
      const started = ctr(['run', '-d', ...runFlags(rt()), IMAGE, id, 'sleep', '1000']);
      expect(started.status, started.stderr).toBe(0);
      try {
        const tasks = ctr(['tasks', 'ls']).stdout;
        expect(tasks).toMatch(new RegExp(`${id}\\s+\\d+\\s+RUNNING`));
        const pid = Number(tasks.split('\n').find((l) => l.startsWith(id))!.split(/\s+/)[1]);
        if (name === 'berth-runtime' && berth.isBerth) {
          // The container really is berth-runtime's: its state is in the private root.
          const st = run(rt(), ['--root', join(runcRoot, NS), 'state', id]);
          expect(st.status, st.stderr).toBe(0);
          expect(JSON.parse(st.stdout)).toMatchObject({ id, status: 'running', pid });
        }

        const e = ctr(['tasks', 'exec', '--exec-id', 'e1', id, 'sh', '-c', 'echo exec-out; cat /proc/1/cmdline | tr "\\0" " "; exit 4']);
        expect(e.stdout).toBe('exec-out\nsleep 1000 ');
        expect(e.status).toBe(4);

        const t = inTerminal(ctrLine(['tasks', 'exec', '-t', '--exec-id', 'e2', id, 'sh', '-c', 'tty; test -t 1 && echo stdout-is-tty; exit 6']));
        expect(t.stdout).toMatch(/\/dev\/pts\/\d+\r*\n/);
        expect(t.stdout).toContain('stdout-is-tty');
        expect(t.status).toBe(6);

        // The exec'd processes are gone; only the init remains.
        const ps = ctr(['tasks', 'ps', id]).stdout.trim().split('\n').slice(1);
        expect(ps.map((l) => Number(l.split(/\s+/)[0]))).toEqual([pid]);
      } finally {
        ctr(['tasks', 'kill', '-s', 'SIGKILL', id]);
        await waitFor(() => /STOPPED/.test(ctr(['tasks', 'ls']).stdout.split('\n').find((l) => l.startsWith(id)) ?? 'STOPPED'), 20_000, `${id} to stop`);
        expect(ctr(['tasks', 'rm', id]).status).toBe(0);
        expect(ctr(['containers', 'rm', id]).status).toBe(0);
      }
      expect(processesMatching(id)).toEqual([]);
      expect(run(rt(), ['--root', join(runcRoot, NS), 'list', '-q']).stdout).not.toContain(id);
    });
  });
});
