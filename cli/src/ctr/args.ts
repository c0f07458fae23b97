// A small flag parser: `berth ctr` starts fast without a CLI framework.
export interface FlagSpec {
  /** Flags that take a value (long names without dashes); short aliases map to long. */
  values?: string[];
  bools?: string[];
  /** Repeatable value flags. */
  multi?: string[];
  aliases?: Record<string, string>;
}

export interface Parsed {
  flags: Record<string, string | boolean | undefined>;
  multi: Record<string, string[]>;
  args: string[];
}

export class UsageError extends Error {}

/** Parses flags until the first positional after `stopAfter` positionals (the rest are the command's args). */
export function parseFlags(argv: string[], spec: FlagSpec, stopAfter = Number.POSITIVE_INFINITY): Parsed {
  const out: Parsed = { flags: {}, multi: {}, args: [] };
  const values = new Set([...(spec.values ?? []), ...(spec.multi ?? [])]);
  const bools = new Set(spec.bools ?? []);
  let i = 0;
  for (; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--') {
      i++;
      break;
    }
    if (!a.startsWith('-') || a === '-') {
      out.args.push(a);
      if (out.args.length >= stopAfter) {
        i++;
        break;
      }
      continue;
    }
    let name = a.replace(/^--?/, '');
    let value: string | undefined;
    const eq = name.indexOf('=');
    if (eq >= 0) {
      value = name.slice(eq + 1);
      name = name.slice(0, eq);
    }
    name = spec.aliases?.[name] ?? name;
    if (bools.has(name)) {
      out.flags[name] = value === undefined ? true : value !== 'false';
    } else if (values.has(name)) {
      if (value === undefined) {
        value = argv[++i];
        if (value === undefined) throw new UsageError(`flag --${name} needs a value`);
      }
      if (spec.multi?.includes(name)) {
        out.multi[name] ??= [];
        out.multi[name].push(value);
      } else out.flags[name] = value;
    } else {
      throw new UsageError(`unknown flag ${a}`);
    }
  }
  out.args.push(...argv.slice(i));
  return out;
}

export function keyValues(list: string[] | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const kv of list ?? []) {
    const eq = kv.indexOf('=');
    if (eq <= 0) out[kv] = '';
    else out[kv.slice(0, eq)] = kv.slice(eq + 1);
  }
  return out;
}

/** Left-aligned columns separated by at least three spaces (ctr's tabwriter look). */
export function table(header: string[], rows: string[][]): string {
  const all = [header, ...rows];
  const widths = header.map((_, c) => Math.max(...all.map((r) => (r[c] ?? '').length)));
  return `${all.map((r) => r.map((cell, c) => (c === r.length - 1 ? cell : cell.padEnd(widths[c]! + 3))).join('').trimEnd()).join('\n')}\n`;
}
