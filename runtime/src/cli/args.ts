// A small parser for runc's flag syntax (urfave/cli): `--bundle x`, `--bundle=x`,
// `-b x`, single-dash long names (`-bundle x`), and flags after positionals. With
// `stopAfter` N, everything after the Nth positional is passed through untouched
// (exec's command, ps's arguments); `--` always ends flag parsing.
import { invalid } from '../errors.js';

export type FlagType = 'bool' | 'string' | 'number' | 'multi';

export interface FlagSpec {
  type: FlagType;
  short?: string;
}

export interface Parsed {
  flags: Record<string, string | boolean | number | string[] | undefined>;
  positionals: string[];
  /** Arguments after the positional limit or after `--`. */
  rest: string[];
}

export function parseArgs(argv: string[], spec: Record<string, FlagSpec>, stopAfter = Infinity): Parsed {
  const byName = new Map<string, [string, FlagSpec]>();
  for (const [name, s] of Object.entries(spec)) {
    byName.set(name, [name, s]);
    if (s.short) byName.set(s.short, [name, s]);
  }
  const flags: Parsed['flags'] = {};
  const positionals: string[] = [];
  const rest: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (positionals.length >= stopAfter) {
      rest.push(...argv.slice(i));
      break;
    }
    if (arg === '--') {
      rest.push(...argv.slice(i + 1));
      break;
    }
    if (!arg.startsWith('-') || arg === '-') {
      positionals.push(arg);
      continue;
    }
    const body = arg.replace(/^--?/, '');
    const eq = body.indexOf('=');
    const key = eq >= 0 ? body.slice(0, eq) : body;
    const found = byName.get(key);
    if (!found) throw invalid(`flag provided but not defined: -${key}`);
    const [name, s] = found;
    if (s.type === 'bool') {
      flags[name] = eq >= 0 ? body.slice(eq + 1) !== 'false' : true;
      continue;
    }
    let value: string;
    if (eq >= 0) value = body.slice(eq + 1);
    else {
      if (i + 1 >= argv.length) throw invalid(`flag needs an argument: -${key}`);
      value = argv[++i];
    }
    if (s.type === 'number') {
      if (!/^-?\d+$/.test(value)) throw invalid(`invalid value "${value}" for flag -${key}: parse error`);
      flags[name] = Number(value);
    } else if (s.type === 'multi') {
      flags[name] = [...((flags[name] as string[] | undefined) ?? []), value];
    } else flags[name] = value;
  }
  return { flags, positionals, rest };
}

/** The single container id argument of a command, with runc's message when it is missing. */
export function requireId(p: Parsed, command: string, extra = 0): string {
  if (p.positionals.length < 1) throw invalid(`"${command}" requires a minimum of 1 argument`);
  if (p.positionals.length > 1 + extra) throw invalid(`"${command}" requires a maximum of ${1 + extra} argument${extra ? 's' : ''}`);
  return p.positionals[0];
}
