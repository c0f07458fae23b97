import { describe, expect, it } from 'vitest';
import { DetachScanner, parseDetachKeys } from './tty.js';

describe('detach keys', () => {
  it('parses docker key specs', () => {
    expect(parseDetachKeys('ctrl-p,ctrl-q')).toEqual([16, 17]);
    expect(parseDetachKeys('ctrl-a,x')).toEqual([1, 120]);
    expect(parseDetachKeys('ctrl-@,ctrl-[')).toEqual([0, 27]);
    expect(() => parseDetachKeys('ctrl-pp')).toThrow(/Unknown character: 'ctrl-pp'/);
  });

  it('detaches on the sequence, even split over chunks, and holds no bytes back otherwise', () => {
    const s = new DetachScanner([16, 17]);
    expect(s.feed(Buffer.from('ab'))).toEqual({ forward: Buffer.from('ab'), detached: false });
    expect(s.feed(Buffer.from([99, 16]))).toEqual({ forward: Buffer.from([99]), detached: false });
    expect(s.feed(Buffer.from([17]))).toEqual({ forward: Buffer.alloc(0), detached: true });
    // ctrl-p followed by something else is passed through intact.
    const t = new DetachScanner([16, 17]);
    expect(t.feed(Buffer.from([16, 120]))).toEqual({ forward: Buffer.from([16, 120]), detached: false });
    expect(t.feed(Buffer.from([16, 16, 17]))).toEqual({ forward: Buffer.from([16]), detached: true });
  });
});
