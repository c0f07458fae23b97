// The create/start split and the commands around it: state, list, kill, delete, pid-file.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { alive, canRun, isBerth, suite } from './rt.js';

describe.skipIf(!canRun)('lifecycle', () => {
  const s = suite('life');

  it('create leaves a waiting init; start runs it; state follows', async () => {
    const id = s.id();
    const b = s.bundle({ args: ['sleep', '60'], edit: (c) => (c.annotations = { 'org.berth.test': 'yes' }) });
    const pidFile = join(s.tempDir(), 'pid');
    const c = s.rt(['create', '--pid-file', pidFile, '-b', b, id], { files: true });
    expect(c.stderr).toBe('');
    expect(c.status).toBe(0);
    const st = JSON.parse(s.rt(['state', id]).stdout);
    expect(st).toMatchObject({ id, status: 'created', bundle: b, annotations: { 'org.berth.test': 'yes' } });
    expect(typeof st.ociVersion).toBe('string');
    expect(st.pid).toBeGreaterThan(0);
    expect(typeof st.created).toBe('string');
    expect(st).toHaveProperty('rootfs');
    expect(st).toHaveProperty('owner');
    expect(Number(readFileSync(pidFile, 'utf8'))).toBe(st.pid);
    expect(alive(st.pid)).toBe(true);
    expect(s.rt(['start', id]).status).toBe(0);
    expect(s.status(id)).toBe('running');
    const again = s.rt(['start', id]);
    expect(again.status).toBe(1);
    expect(again.stderr).toMatch(/running/);
    expect(s.rt(['kill', id, 'SIGKILL']).status).toBe(0);
    expect(await s.waitStatus(id, 'stopped')).toBe('stopped');
    expect(JSON.parse(s.rt(['state', id]).stdout).pid).toBe(0);
    expect(s.rt(['delete', id]).status).toBe(0);
    expect(s.status(id)).toBeUndefined();
    expect(existsSync(join(s.root, id))).toBe(false);
    expect(alive(st.pid)).toBe(false);
  });

  it('kill accepts names with and without SIG and numbers', async () => {
    const b = s.bundle({ args: ['sleep', '60'] });
    for (const sig of ['KILL', 'SIGKILL', '9']) {
      const id = s.id();
      expect(s.rt(['run', '-d', '-b', b, id], { files: true }).status).toBe(0);
      expect(s.rt(['kill', id, sig]).status).toBe(0);
      expect(await s.waitStatus(id, 'stopped')).toBe('stopped');
    }
  });

  it('SIGTERM ends a created container that never started', async () => {
    const id = s.id();
    expect(s.rt(['create', '-b', s.bundle({ args: ['sleep', '60'] }), id], { files: true }).status).toBe(0);
    expect(s.rt(['kill', id, 'TERM']).status).toBe(0);
    expect(await s.waitStatus(id, 'stopped')).toBe('stopped');
  });

  it('kill --all signals every process of the container', async () => {
    const id = s.id();
    const b = s.bundle({ args: ['sh', '-c', 'sleep 60 & sleep 60 & wait'] });
    expect(s.rt(['run', '-d', '-b', b, id], { files: true }).status).toBe(0);
    expect(s.rt(['kill', '--all', id, 'KILL']).status).toBe(0);
    expect(await s.waitStatus(id, 'stopped')).toBe('stopped');
  });

  it('delete refuses a running container without --force, and --force kills it', () => {
    const id = s.id();
    expect(s.rt(['run', '-d', '-b', s.bundle({ args: ['sleep', '60'] }), id], { files: true }).status).toBe(0);
    const pid = JSON.parse(s.rt(['state', id]).stdout).pid;
    const r = s.rt(['delete', id]);
    expect(r.status).toBe(1);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/running/);
    expect(s.status(id)).toBe('running');
    expect(s.rt(['delete', '--force', id]).status).toBe(0);
    expect(s.status(id)).toBeUndefined();
    expect(alive(pid)).toBe(false);
  });

  it('delete of a created container kills its init', () => {
    const id = s.id();
    expect(s.rt(['create', '-b', s.bundle({ args: ['true'] }), id], { files: true }).status).toBe(0);
    const pid = JSON.parse(s.rt(['state', id]).stdout).pid;
    expect(s.rt(['delete', id]).status).toBe(0);
    expect(alive(pid)).toBe(false);
    expect(s.status(id)).toBeUndefined();
  });

  it('list prints a table, JSON and ids', () => {
    const id = s.id();
    expect(s.rt(['create', '-b', s.bundle({ args: ['true'] }), id], { files: true }).status).toBe(0);
    const table = s.rt(['list']).stdout.split('\n');
    expect(table[0]).toMatch(/^ID\s+PID\s+STATUS\s+BUNDLE\s+CREATED\s+OWNER/);
    expect(table.some((l) => l.startsWith(id) && l.includes('created'))).toBe(true);
    const json = JSON.parse(s.rt(['list', '--format', 'json']).stdout);
    expect(json.find((c: any) => c.id === id)).toMatchObject({ id, status: 'created' });
    expect(s.rt(['list', '-q']).stdout.split('\n')).toContain(id);
  });

  it.skipIf(!isBerth)('list skips state dirs it cannot read: a real runc container and a foreign state.json on the same --root (issue 5)', () => {
    const id = s.id();
    expect(s.rt(['create', '-b', s.bundle({ args: ['true'] }), id], { files: true }).status).toBe(0);
    // runc's own state dir, made by runc on the same root.
    const runcId = s.id('runc');
    const made = spawnSync('runc', ['--root', s.root, 'create', '-b', s.bundle({ args: ['true'] }), runcId], { stdio: 'ignore', timeout: 30_000 });
    // And a state.json in a shape no runtime writes.
    const junk = join(s.root, s.id('junk'));
    mkdirSync(junk);
    writeFileSync(join(junk, 'state.json'), '{"id": 1, "init_process_pid": "x"}');
    try {
      expect(made.status).toBe(0);
      expect(existsSync(join(s.root, runcId, 'state.json'))).toBe(true);
      const table = s.rt(['list']);
      expect(table.stderr).toBe('');
      expect(table.status).toBe(0);
      expect(table.stdout.split('\n').filter((l) => l.startsWith('rt-')).map((l) => l.split(/\s+/)[0])).toEqual([id]);
      const json = s.rt(['list', '--format', 'json']);
      expect(json.status).toBe(0);
      expect(JSON.parse(json.stdout).map((c: any) => c.id)).toEqual([id]);
      expect(s.rt(['list', '-q']).stdout).toBe(`${id}\n`);
      // With --debug each skipped entry is named on stderr.
      const debug = s.rt(['--debug', 'list', '-q']);
      expect(debug.status).toBe(0);
      expect(debug.stdout).toBe(`${id}\n`);
      expect(debug.stderr).toContain(runcId);
      expect(debug.stderr).toContain(basename(junk));
      // Asked for by name, the foreign entry is a clear error rather than a crash.
      const st = s.rt(['state', runcId]);
      expect(st.status).toBe(1);
      expect(st.stderr).toMatch(/not a berth-runtime state file/);
    } finally {
      spawnSync('runc', ['--root', s.root, 'delete', '--force', runcId], { stdio: 'ignore', timeout: 30_000 });
      rmSync(junk, { recursive: true, force: true });
    }
  });

  it('stopped containers report status stopped once the process exits', async () => {
    const id = s.id();
    expect(s.rt(['run', '-d', '-b', s.bundle({ args: ['true'] }), id], { files: true }).status).toBe(0);
    expect(await s.waitStatus(id, 'stopped')).toBe('stopped');
    const r = s.rt(['start', id]);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/stopped/);
  });
});
