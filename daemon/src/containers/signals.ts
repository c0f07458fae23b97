import { constants } from 'node:os';
import { invalid } from '../errors.js';

/** Parses a signal as Docker accepts it: 9, KILL, SIGKILL, sigkill. */
export function parseSignal(s: string | number | undefined, fallback = 15): number {
  if (s === undefined || s === '') return fallback;
  if (typeof s === 'number') return s;
  if (/^[0-9]+$/.test(s)) {
    const n = Number(s);
    if (n < 1 || n > 64) throw invalid(`Invalid signal: ${s}`);
    return n;
  }
  const up = s.toUpperCase();
  const name = (up.startsWith('SIG') ? up : `SIG${up}`) as keyof typeof constants.signals;
  const n = constants.signals[name];
  if (n === undefined) throw invalid(`Invalid signal: ${s}`);
  return n;
}
