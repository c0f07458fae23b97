// Poststop hooks after a failed create. runtime.md's lifecycle: when a prestart,
// createRuntime or createContainer hook fails, the runtime generates an error, stops
// the container and continues at step 12 (delete), whose last step runs the poststop
// hooks; a failing poststop hook is only a warning.
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { canRun, isBerth, suite } from './rt.js';

describe.skipIf(!canRun)('poststop hooks after a failed create', () => {
  const s = suite('hookfail');

  /** A failing hook and a poststop hook that records the state it was given. */
  const scripts = (): { fail: string; record: string; log: string } => {
    const dir = s.tempDir();
    const fail = join(dir, 'fail.sh');
    writeFileSync(fail, '#!/bin/sh\necho hook-said-no >&2\nexit 3\n');
    const log = join(dir, 'poststop.log');
    const record = join(dir, 'record.sh');
    writeFileSync(record, `#!/bin/sh\n{ echo "$1"; cat; echo; } >> ${log}\n`);
    chmodSync(fail, 0o755);
    chmodSync(record, 0o755);
    return { fail, record, log };
  };

  it.each(['prestart', 'createRuntime', 'createContainer'])('a failing %s hook: create fails, then poststop runs with the stopped state', (kind) => {
    const { fail, record, log } = scripts();
    const id = s.id();
    const b = s.bundle({
      args: ['true'],
      edit: (c) => (c.hooks = { [kind]: [{ path: fail }], poststop: [{ path: record, args: ['record.sh', 'first'] }, { path: record, args: ['record.sh', 'second'] }] }),
    });
    const r = s.rt(['create', '-b', b, id], { files: true });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/exit status 3/);
    expect(existsSync(join(s.root, id))).toBe(false);
    const lines = readFileSync(log, 'utf8').trim().split('\n');
    expect(lines.filter((_, i) => i % 2 === 0)).toEqual(['first', 'second']);
    const state = JSON.parse(lines[1]);
    expect(state.id).toBe(id);
    expect(state.status).toBe('stopped');
  });

  it.skipIf(!isBerth)('a failing poststop hook after a failed create is a warning; the create error stays', () => {
    const { fail, record, log } = scripts();
    const id = s.id();
    const b = s.bundle({
      args: ['true'],
      edit: (c) => (c.hooks = { createRuntime: [{ path: fail }], poststop: [{ path: fail }, { path: record, args: ['record.sh', 'after'] }] }),
    });
    const r = s.rt(['create', '-b', b, id], { files: true });
    expect(r.status).toBe(1);
    const lines = r.stderr.trim().split('\n');
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(/level=warning.*poststop hook #0/);
    expect(lines[1]).toMatch(/level=error.*createRuntime hook #0.*exit status 3/);
    expect(readFileSync(log, 'utf8').split('\n')[0]).toBe('after');
  });

  // Berth only: runc 1.1.5 accepts a relative hook path, so its create gets further and runs poststop.
  it.skipIf(!isBerth)('a config refused before the container exists runs no poststop hook', () => {
    const { record, log } = scripts();
    const id = s.id();
    const b = s.bundle({ args: ['no-such-binary'], edit: (c) => (c.hooks = { poststop: [{ path: record, args: ['record.sh', 'x'] }], prestart: [{ path: 'relative/path' }] }) });
    const r = s.rt(['create', '-b', b, id], { files: true });
    expect(r.status).toBe(1);
    expect(existsSync(log)).toBe(false);
  });
});
