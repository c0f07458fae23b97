// Bad input: a one-line error naming the problem, exit 1, and nothing left behind
// (no state dir, no process, no cgroup).
import { readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { canRun, isBerth, suite } from './rt.js';

describe.skipIf(!canRun)('bad input', () => {
  const s = suite('err');

  function expectCleanFailure(args: string[], pattern: RegExp, id: string): void {
    const before = new Set(readdirSync('/sys/fs/cgroup/pids', { recursive: true }) as string[]);
    const r = s.rt(args, { files: true });
    expect(r.status).toBe(1);
    const lines = r.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(pattern);
    expect(readdirSync(s.root)).not.toContain(id);
    const after = (readdirSync('/sys/fs/cgroup/pids', { recursive: true }) as string[]).filter((p) => !before.has(p));
    expect(after.filter((p) => p.includes(id))).toEqual([]);
  }

  const withConfig = (edit: (c: any) => void) => s.bundle({ args: ['true'], edit });

  it('missing config.json', () => {
    const b = s.bundle();
    rmSync(join(b, 'config.json'));
    const id = s.id();
    expectCleanFailure(['create', '-b', b, id], /config\.json/, id);
  });

  it('invalid JSON in config.json', () => {
    const b = s.bundle();
    writeFileSync(join(b, 'config.json'), '{"ociVersion": ');
    const id = s.id();
    expectCleanFailure(['create', '-b', b, id], isBerth ? /config\.json: invalid JSON/ : /./, id);
  });

  it('a field of the wrong type names the field', () => {
    const id = s.id();
    expectCleanFailure(['create', '-b', withConfig((c) => (c.process.args = 'true')), id], isBerth ? /process\.args/ : /args/, id);
  });

  it('an unknown namespace type', () => {
    const id = s.id();
    const b = withConfig((c) => c.linux.namespaces.push({ type: 'foo' }));
    expectCleanFailure(['create', '-b', b, id], /foo/, id);
  });

  it('a missing rootfs', () => {
    const id = s.id();
    const b = withConfig((c) => (c.root.path = 'no-such-rootfs'));
    expectCleanFailure(['create', '-b', b, id], /no-such-rootfs/, id);
  });

  it('a process that cannot be found', () => {
    const id = s.id();
    const b = s.bundle({ args: ['no-such-binary'] });
    expectCleanFailure(['create', '-b', b, id], /no-such-binary/, id);
  });

  it('a duplicate id leaves the first container alone', () => {
    const id = s.id();
    const b = s.bundle({ args: ['sleep', '60'] });
    expect(s.rt(['create', '-b', b, id], { files: true }).status).toBe(0);
    const r = s.rt(['create', '-b', b, id], { files: true });
    expect(r.status).toBe(1);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/exists/);
    expect(s.status(id)).toBe('created');
  });

  it('an unknown id for state, start, kill, delete, exec, pause', () => {
    for (const cmd of [['state'], ['start'], ['kill'], ['delete'], ['pause'], ['resume'], ['ps'], ['exec', 'rt-no-such-id', 'true']]) {
      const args = cmd[0] === 'exec' ? cmd : [...cmd, 'rt-no-such-id'];
      const r = s.rt(args);
      // runc exits 255 when exec itself fails; berth-runtime does the same.
      expect(r.status, cmd[0]).toBe(cmd[0] === 'exec' ? 255 : 1);
      expect(r.stderr.trim().split('\n'), cmd[0]).toHaveLength(1);
      expect(r.stderr, cmd[0]).toMatch(/does not exist|not exist/);
    }
  });

  it('a bad signal', () => {
    const id = s.id();
    expect(s.rt(['run', '-d', '-b', s.bundle({ args: ['sleep', '60'] }), id], { files: true }).status).toBe(0);
    for (const sig of ['SIGFOO', 'FOO', '999']) {
      const r = s.rt(['kill', id, sig]);
      expect(r.status, sig).toBe(1);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
    }
    expect(s.status(id)).toBe('running');
  });

  it.skipIf(!isBerth)('errors are JSON lines with --log-format json', () => {
    const r = s.rt(['--log-format', 'json', 'state', 'rt-no-such-id']);
    expect(r.status).toBe(1);
    expect(JSON.parse(r.stderr)).toMatchObject({ level: 'error', msg: 'container does not exist' });
  });
});
