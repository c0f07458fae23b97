// Hooks run as real (tiny) processes: args, env, state on stdin, failures, timeouts.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { checkHooks, runHook, runHooks } from './hooks.js';

describe('hooks', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rt-unit-hooks-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('passes argv, only the given env and the state on stdin', () => {
    const out = join(dir, 'out');
    runHook('prestart', 0, { path: '/bin/sh', args: ['sh', '-c', `{ echo "$0 $1 $V $HOME"; cat; } > ${out}`, 'zero', 'one'], env: ['V=v'] }, { id: 'c1' });
    expect(readFileSync(out, 'utf8')).toBe('zero one v \n{"id":"c1"}');
  });

  it('names the failing hook with its status and output', () => {
    expect(() => runHooks('createRuntime', { createRuntime: [{ path: '/bin/true' }, { path: '/bin/sh', args: ['sh', '-c', 'echo nope >&2; exit 3'] }] }, {})).toThrow(
      'createRuntime hook #1 (/bin/sh): exit status 3; stderr: nope',
    );
    expect(() => runHook('poststop', 0, { path: '/nonexistent/hook' }, {})).toThrow('poststop hook #0 (/nonexistent/hook): no such file');
  });

  it('does not fail a hook that ignores its stdin', () => {
    expect(() => runHook('poststart', 0, { path: '/bin/true' }, { big: 'x'.repeat(1 << 20) })).not.toThrow();
  });

  it('kills a hook at its timeout', () => {
    expect(() => runHook('prestart', 0, { path: '/bin/sleep', args: ['sleep', '10'], timeout: 1 }, {})).toThrow(/timed out after 1s/);
  });

  it('checks paths are absolute and timeouts positive', () => {
    expect(() => checkHooks({ prestart: [{ path: 'relative' }] })).toThrow('config.json: hooks.prestart[0].path: "relative" is not an absolute path');
    expect(() => checkHooks({ poststop: [{ path: '/bin/true', timeout: 0 }] })).toThrow(/hooks.poststop\[0\].timeout/);
  });
});
