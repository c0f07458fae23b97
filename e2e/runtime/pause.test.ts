// pause/resume through the freezer, and ps from the cgroup.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { canRun, suite } from './rt.js';

const procState = (pid: number) => /State:\s+(\S)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];

describe.skipIf(!canRun)('pause, resume and ps', () => {
  const s = suite('pause');

  it('pauses and resumes every process of the container', async () => {
    const id = s.id();
    expect(s.rt(['run', '-d', '-b', s.bundle({ args: ['sh', '-c', 'sleep 60 & wait'] }), id], { files: true }).status).toBe(0);
    const pid = JSON.parse(s.rt(['state', id]).stdout).pid;
    expect(s.rt(['pause', id]).status).toBe(0);
    expect(s.status(id)).toBe('paused');
    expect(procState(pid)).toBe('D');
    const again = s.rt(['pause', id]);
    expect(again.status).toBe(1);
    expect(s.rt(['resume', id]).status).toBe(0);
    expect(s.status(id)).toBe('running');
    expect(procState(pid)).not.toBe('D');
    expect(s.rt(['resume', id]).status).toBe(1);
    // A paused container can still be force-deleted.
    expect(s.rt(['pause', id]).status).toBe(0);
    expect(s.rt(['delete', '--force', id]).status).toBe(0);
    expect(s.status(id)).toBeUndefined();
  });

  it('ps lists the container processes as a table or JSON', () => {
    const id = s.id();
    expect(s.rt(['run', '-d', '-b', s.bundle({ args: ['sh', '-c', 'sleep 60 & wait'] }), id], { files: true }).status).toBe(0);
    const pid = JSON.parse(s.rt(['state', id]).stdout).pid;
    const pids = JSON.parse(s.rt(['ps', '--format', 'json', id]).stdout);
    expect(pids).toContain(pid);
    expect(pids).toHaveLength(2);
    const table = s.rt(['ps', id]).stdout.trim().split('\n');
    expect(table[0]).toMatch(/PID/);
    expect(table).toHaveLength(3);
    expect(table.join('\n')).toMatch(/sleep 60/);
    const custom = s.rt(['ps', id, '-o', 'pid,comm']).stdout.trim().split('\n');
    expect(custom[0].trim()).toMatch(/^PID\s+COMMAND$/);
    expect(custom).toHaveLength(3);
  });
});
