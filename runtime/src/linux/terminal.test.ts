import { describe, expect, it } from 'vitest';
import { FakeSys } from '../sys/fake.js';
import { setupConsole } from './terminal.js';

describe('setupConsole', () => {
  it('sends the master over the socket, then makes the slave the controlling terminal and stdio', () => {
    const sys = new FakeSys();
    setupConsole(sys, 7, { height: 24, width: 80 }, false);
    const master = sys.only('openPty').length && (sys.only('setWinsize')[0][1] as number);
    expect(sys.calls.map((c) => c[0])).toEqual(['openPty', 'setWinsize', 'open', 'sendFd', 'close', 'close', 'setsid', 'setControllingTerminal', 'dup2', 'dup2', 'dup2', 'close']);
    expect(sys.only('setWinsize')).toEqual([['setWinsize', master, 24, 80]]);
    expect(sys.only('sendFd')).toEqual([['sendFd', 7, '/dev/ptmx', master]]);
    const slave = sys.only('open')[0];
    expect(slave[1]).toBe('/dev/pts/0');
  });
});
