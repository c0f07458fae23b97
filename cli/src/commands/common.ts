// Small pieces shared by the command modules.
import type { CommandModule, Options } from 'yargs';
import type { Cli } from '../cli.js';
import { CliError, runState, toArray } from '../cli.js';

export type Args = Record<string, any> & { _: (string | number)[] };

export function command(
  cmd: string,
  describe: string,
  options: Record<string, Options>,
  handler: (a: Args) => Promise<unknown>,
  extra: Partial<CommandModule<any, any>> = {},
): CommandModule<any, any> {
  return {
    command: cmd,
    describe,
    builder: (y) => y.options(options),
    handler: async (a: any) => {
      if (runState.failed) return;
      // Subcommands' statuses travel through runState (see dispatch.ts).
      // Errors are kept for dispatch.ts to report: yargs loses those thrown by nested commands.
      try {
        const code = await handler(a);
        if (typeof code === 'number') runState.status = code;
      } catch (e) {
        runState.error = e;
      }
    },
    ...extra,
  };
}

/** `-f key=value` flags as the Engine API's filters JSON ({"key": {"value": true}}). */
export function filtersJson(values: unknown): string | undefined {
  const list = toArray(values);
  if (list.length === 0) return undefined;
  const f: Record<string, Record<string, boolean>> = {};
  for (const v of list) {
    const eq = v.indexOf('=');
    if (eq <= 0) throw new CliError(`invalid argument "${v}" for "-f, --filter" flag: bad format of filter (expected name=value)`, 125);
    const k = v.slice(0, eq).trim().toLowerCase();
    f[k] ??= {};
    f[k][v.slice(eq + 1)] = true;
  }
  return JSON.stringify(f);
}

/** key=value flags (labels, options) as an object; a bare key gets "". */
export function keyValues(values: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  for (const v of toArray(values)) {
    const eq = v.indexOf('=');
    if (eq < 0) out[v] = '';
    else out[v.slice(0, eq)] = v.slice(eq + 1);
  }
  return out;
}

export const formatOption: Options = { type: 'string', describe: "Format output using a custom template: 'table', 'json' or a Go template" };
export const quietOption: Options = { alias: 'q', type: 'boolean', describe: 'Only display IDs' };
export const noTruncOption: Options = { type: 'boolean', describe: "Don't truncate output" };
export const filterOption: Options = { alias: 'f', type: 'string', describe: 'Filter output based on conditions provided' };

/** Asks y/N on the terminal (prune commands); --force skips it. */
export async function confirm(cli: Cli, question: string): Promise<boolean> {
  // docker asks on stdout.
  cli.out.write(`${question} [y/N] `);
  return new Promise((resolve) => {
    const onData = (d: Buffer) => {
      process.stdin.off('data', onData);
      process.stdin.pause();
      resolve(/^y(es)?$/i.test(d.toString().trim()));
    };
    process.stdin.on('data', onData);
    process.stdin.once('end', () => resolve(false));
  });
}

export function positionals(a: Args, key: string): string[] {
  return toArray(a[key]);
}
