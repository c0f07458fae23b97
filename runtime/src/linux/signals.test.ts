import { describe, expect, it } from 'vitest';
import { parseSignal } from './signals.js';

describe('parseSignal', () => {
  it('accepts names with and without SIG, any case, and numbers', () => {
    expect(parseSignal('KILL')).toBe(9);
    expect(parseSignal('SIGKILL')).toBe(9);
    expect(parseSignal('term')).toBe(15);
    expect(parseSignal('9')).toBe(9);
    expect(parseSignal('RTMIN+2')).toBe(36);
    expect(parseSignal('SIGRTMAX')).toBe(64);
  });

  it('rejects unknown names and out-of-range numbers', () => {
    expect(() => parseSignal('FOO')).toThrow(/unknown signal "FOO"/);
    expect(() => parseSignal('0')).toThrow(/invalid signal/);
    expect(() => parseSignal('65')).toThrow(/invalid signal/);
    expect(() => parseSignal('RTMAX+1')).toThrow(/invalid signal/);
  });
});
