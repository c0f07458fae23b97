// Bad input: a one-line error naming the problem, exit 1, and nothing left behind
// (no state dir, no process, no cgroup).
import { randomBytes } from 'node:crypto';
import { lstatSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { canRun, isBerth, suite } from './rt.js';

/** Cgroup directories whose path names `id`, in every mounted hierarchy (each v1 controller, name=systemd, unified). */
function cgroupDirsNamed(id: string): string[] {
  const out: string[] = [];
  for (const h of readdirSync('/sys/fs/cgroup')) {
    const base = join('/sys/fs/cgroup', h);
    let entries: string[];
    try {
      if (lstatSync(base).isSymbolicLink() || !statSync(base).isDirectory()) continue;
      entries = readdirSync(base, { recursive: true }) as string[];
    } catch {
      continue; // a file of a pure cgroup2 root, or a hierarchy gone meanwhile
    }
    for (const p of entries) if (p.includes(id)) out.push(join(base, p));
  }
  return out;
}

describe.skipIf(!canRun)('bad input', () => {
  const s = suite('err');

  /** `peerLines`: the peer (runc) may print more than the one line berth must. */
  function expectCleanFailure(args: string[], pattern: RegExp, id: string, peerLines = false): void {
    const r = s.rt(args, { files: true });
    expect(r.status).toBe(1);
    const lines = r.stderr.trim().split('\n');
    if (isBerth || !peerLines) {
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(pattern);
    } else expect(r.stderr).toMatch(pattern);
    expect(readdirSync(s.root)).not.toContain(id);
    expect(cgroupDirsNamed(id)).toEqual([]);
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

  // Failures after the cgroup exists: the create must still remove it from every hierarchy (issue 4).
  it('a cgroup value the kernel refuses', () => {
    const id = s.id();
    const b = withConfig((c) => (c.linux.resources = { ...c.linux.resources, cpu: { cpus: '9999' } }));
    expectCleanFailure(['create', '-b', b, id], /cpus/, id, true);
  });

  it('a mount that fails inside the init', () => {
    const id = s.id();
    const b = withConfig((c) => c.mounts.push({ destination: '/mnt', type: 'bind', source: '/no-such-source-dir', options: ['rbind'] }));
    expectCleanFailure(['create', '-b', b, id], /no-such-source-dir/, id);
  });

  it.skipIf(!isBerth)('the empty berth parent cgroups go too, after a failed create and after delete', () => {
    const group = `rt-err-group-${randomBytes(4).toString('hex')}`;
    const failed = s.id();
    const b1 = withConfig((c) => {
      c.process.args = ['no-such-binary'];
      c.linux.cgroupsPath = `/berth/${group}/${failed}`;
    });
    expectCleanFailure(['create', '-b', b1, failed], /no-such-binary/, failed);
    expect(cgroupDirsNamed(group)).toEqual([]);
    const id = s.id();
    const b2 = withConfig((c) => (c.linux.cgroupsPath = `/berth/${group}/${id}`));
    expect(s.rt(['create', '-b', b2, id], { files: true }).status).toBe(0);
    expect(cgroupDirsNamed(group).length).toBeGreaterThan(0);
    expect(s.rt(['delete', '--force', id]).status).toBe(0);
    expect(cgroupDirsNamed(group)).toEqual([]);
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
