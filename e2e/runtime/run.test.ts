// `run`: a real container runs the bundle's process, stdio passes straight through,
// the exit status (128+N for signal N) comes back, and the container is removed.
import { describe, expect, it } from 'vitest';
import { canRun, suite } from './rt.js';

describe.skipIf(!canRun)('run', () => {
  const s = suite('run');

  it('runs busybox echo with stdout passed through', () => {
    const r = s.rt(['run', '-b', s.bundle({ args: ['echo', 'hello'] }), s.id()]);
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('hello\n');
    expect(r.status).toBe(0);
  });

  it('passes stdin and stderr through', () => {
    const r = s.rt(['run', '-b', s.bundle({ args: ['sh', '-c', 'cat; echo oops >&2'] }), s.id()], { input: 'from stdin\n' });
    expect(r.stdout).toBe('from stdin\n');
    expect(r.stderr).toBe('oops\n');
    expect(r.status).toBe(0);
  });

  it('propagates the exit status', () => {
    const r = s.rt(['run', '-b', s.bundle({ args: ['sh', '-c', 'exit 42'] }), s.id()]);
    expect(r.status).toBe(42);
  });

  it('reports death by signal N as 128+N', () => {
    // Without a pid namespace the shell is not an init, so it can signal itself.
    const b = s.bundle({
      args: ['sh', '-c', 'kill -USR1 $$'],
      edit: (c) => {
        c.linux.namespaces = c.linux.namespaces.filter((n: any) => n.type !== 'pid');
      },
    });
    expect(s.rt(['run', '-b', b, s.id()]).status).toBe(138);
  });

  it('removes the container after it exits, or keeps it stopped with --keep', () => {
    const b = s.bundle({ args: ['true'] });
    const gone = s.id();
    expect(s.rt(['run', '-b', b, gone]).status).toBe(0);
    expect(s.status(gone)).toBeUndefined();
    const kept = s.id();
    expect(s.rt(['run', '--keep', '-b', b, kept]).status).toBe(0);
    expect(s.status(kept)).toBe('stopped');
    expect(s.rt(['delete', kept]).status).toBe(0);
  });

  it('accepts --bundle=DIR and flags after the id', () => {
    const b = s.bundle({ args: ['echo', 'ok'] });
    expect(s.rt(['run', `--bundle=${b}`, s.id()]).stdout).toBe('ok\n');
    expect(s.rt(['run', s.id(), '-b', b]).stdout).toBe('ok\n');
  });

  it('runs detached with -d and leaves the container running', async () => {
    const id = s.id();
    const r = s.rt(['run', '-d', '-b', s.bundle({ args: ['sleep', '60'] }), id], { files: true });
    expect(r.status).toBe(0);
    expect(s.status(id)).toBe('running');
    expect(s.rt(['kill', id, 'KILL']).status).toBe(0);
    expect(await s.waitStatus(id, 'stopped')).toBe('stopped');
  });

  it('looks the command up in the process PATH and env reaches it', () => {
    const b = s.bundle({
      args: ['sh', '-c', 'echo $FOO; pwd'],
      edit: (c) => {
        c.process.env.push('FOO=bar');
        c.process.cwd = '/tmp';
      },
    });
    const r = s.rt(['run', '-b', b, s.id()]);
    expect(r.stdout).toBe('bar\n/tmp\n');
  });
});
