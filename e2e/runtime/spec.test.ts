// spec and features: a default config.json that the runtime itself accepts, and
// the features document.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { canRun, suite } from './rt.js';

describe.skipIf(!canRun)('spec and features', () => {
  const s = suite('spec');

  it('spec writes a default config.json that runs', () => {
    const b = s.bundle();
    const dir = s.tempDir();
    expect(s.rt(['spec', '-b', dir]).status).toBe(0);
    const spec = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'));
    expect(spec).toMatchObject({ process: { terminal: true, args: ['sh'], cwd: '/' }, root: { path: 'rootfs', readonly: true } });
    expect(spec.linux.namespaces.map((n: any) => n.type).sort()).toEqual(['ipc', 'mount', 'network', 'pid', 'uts']);
    const again = s.rt(['spec', '-b', dir]);
    expect(again.status).toBe(1);
    expect(again.stderr).toMatch(/exists/);
    // The default spec runs once it has no terminal and a command.
    spec.process.terminal = false;
    spec.process.args = ['echo', 'spec-ok'];
    writeFileSync(join(b, 'config.json'), JSON.stringify(spec));
    expect(s.rt(['run', '-b', b, s.id()]).stdout).toBe('spec-ok\n');
  });

  it('spec --rootless adds a user namespace', () => {
    const dir = s.tempDir();
    mkdirSync(join(dir, 'x'));
    expect(s.rt(['spec', '--rootless', '-b', join(dir, 'x')]).status).toBe(0);
    expect(existsSync(join(dir, 'x', 'config.json'))).toBe(true);
    const spec = JSON.parse(readFileSync(join(dir, 'x', 'config.json'), 'utf8'));
    expect(spec.linux.namespaces.map((n: any) => n.type)).toContain('user');
    expect(spec.linux.uidMappings).toHaveLength(1);
  });

  it('features prints the supported features as JSON', () => {
    const f = JSON.parse(s.rt(['features']).stdout);
    expect(f.ociVersionMin).toBe('1.0.0');
    expect(f.mountOptions).toContain('rbind');
    expect(f.linux.namespaces).toEqual(expect.arrayContaining(['cgroup', 'ipc', 'mount', 'network', 'pid', 'uts']));
    expect(f.linux.capabilities).toContain('CAP_SYS_ADMIN');
    expect(f.linux.cgroup.v1).toBe(true);
  });

  it('--version and --help', () => {
    expect(s.rt(['--version']).stdout).toMatch(/version/);
    expect(s.rt(['--help']).stdout).toMatch(/COMMANDS/);
  });
});
