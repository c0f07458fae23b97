// The create/start split and the commands around it: state, list, kill, delete, pid-file.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { alive, canRun, suite } from './rt.js';

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

  it('stopped containers report status stopped once the process exits', async () => {
    const id = s.id();
    expect(s.rt(['run', '-d', '-b', s.bundle({ args: ['true'] }), id], { files: true }).status).toBe(0);
    expect(await s.waitStatus(id, 'stopped')).toBe('stopped');
    const r = s.rt(['start', id]);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/stopped/);
  });
});
