// Signal names and numbers as `kill` accepts them: TERM, SIGTERM, 15, RTMIN+3.
import { constants } from 'node:os';
import { invalid } from '../errors.js';

const SIGRTMIN = 34;
const SIGRTMAX = 64;

export function parseSignal(s: string): number {
  if (/^\d+$/.test(s)) {
    const n = Number(s);
    if (n < 1 || n > SIGRTMAX) throw invalid(`invalid signal: ${s}`);
    return n;
  }
  let name = s.toUpperCase();
  if (!name.startsWith('SIG')) name = `SIG${name}`;
  const rt = /^SIGRT(MIN|MAX)([+-]\d+)?$/.exec(name);
  if (rt) {
    const n = (rt[1] === 'MIN' ? SIGRTMIN : SIGRTMAX) + Number(rt[2] ?? 0);
    if (n < SIGRTMIN || n > SIGRTMAX) throw invalid(`invalid signal: ${s}`);
    return n;
  }
  const n = (constants.signals as Record<string, number>)[name];
  if (n === undefined) throw invalid(`unknown signal "${s}"`);
  return n;
}

/** Node's name for a signal number (for process.kill), or the number itself. */
export function signalName(n: number): string | number {
  for (const [name, num] of Object.entries(constants.signals)) if (num === n) return name;
  return n;
}
