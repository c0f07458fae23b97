import { describe, expect, it } from 'vitest';
import { parseArgs, requireId } from './args.js';

const spec = {
  bundle: { type: 'string', short: 'b' },
  detach: { type: 'bool', short: 'd' },
  'preserve-fds': { type: 'number' },
  env: { type: 'multi', short: 'e' },
} as const;

describe('parseArgs (runc flag syntax)', () => {
  it('accepts --flag value, --flag=value, -f value and single-dash long names', () => {
    expect(parseArgs(['--bundle', 'a', 'id'], spec).flags.bundle).toBe('a');
    expect(parseArgs(['--bundle=b', 'id'], spec).flags.bundle).toBe('b');
    expect(parseArgs(['-b', 'c', 'id'], spec).flags.bundle).toBe('c');
    expect(parseArgs(['-bundle', 'd', 'id'], spec).flags.bundle).toBe('d');
  });

  it('accepts flags after the positional id', () => {
    const p = parseArgs(['id', '-d', '-b', 'x'], spec);
    expect(p.positionals).toEqual(['id']);
    expect(p.flags).toMatchObject({ detach: true, bundle: 'x' });
  });

  it('parses numbers and repeated flags', () => {
    const p = parseArgs(['--preserve-fds', '2', '-e', 'A=1', '-e', 'B=2', 'id'], spec);
    expect(p.flags['preserve-fds']).toBe(2);
    expect(p.flags.env).toEqual(['A=1', 'B=2']);
    expect(() => parseArgs(['--preserve-fds', 'x'], spec)).toThrow(/invalid value "x"/);
  });

  it('stops at the positional limit and at --', () => {
    const p = parseArgs(['-d', 'id', 'sh', '-c', 'echo -d'], spec, 1);
    expect(p.positionals).toEqual(['id']);
    expect(p.rest).toEqual(['sh', '-c', 'echo -d']);
    expect(parseArgs(['id', '--', '-x'], spec).rest).toEqual(['-x']);
  });

  it('rejects unknown flags and missing values with runc-like messages', () => {
    expect(() => parseArgs(['--nope'], spec)).toThrow('flag provided but not defined: -nope');
    expect(() => parseArgs(['--bundle'], spec)).toThrow('flag needs an argument: -bundle');
  });

  it('requireId checks the argument count', () => {
    expect(requireId(parseArgs(['a'], spec), 'state')).toBe('a');
    expect(() => requireId(parseArgs([], spec), 'state')).toThrow(/requires a minimum of 1/);
    expect(() => requireId(parseArgs(['a', 'b'], spec), 'state')).toThrow(/maximum/);
    expect(requireId(parseArgs(['a', 'KILL'], spec), 'kill', 1)).toBe('a');
  });
});
