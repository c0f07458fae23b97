import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { bins } from '../helpers.js';

// Every binary is one bundled file that answers --version and --help.
describe.each(Object.entries(bins))('%s binary', (_name, path) => {
  it('answers --version with its name and version', () => {
    const out = execFileSync(path, ['--version']).toString();
    expect(out).toMatch(/^berth[-a-z]* version \d+\.\d+\.\d+/);
  });
  it('answers --help with a usage text', () => {
    const out = execFileSync(path, ['--help']).toString();
    expect(out.toLowerCase()).toContain('usage');
  });
});
