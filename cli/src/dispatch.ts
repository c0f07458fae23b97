// Runs one command: loads its module and yargs, parses, calls the handler, and
// returns the exit status (main.ts exits with it; tests call this directly).
import type { Argv } from 'yargs';
import { type Split, splitAtPositional } from './args.js';
import { Cli, type Io, runState } from './cli.js';
import type { CommandEntry } from './commands/table.js';

export async function runCommand(split: Split, entry: CommandEntry, io?: Io): Promise<number> {
  const cli = new Cli(split.globals, io);
  runState.failed = false;
  runState.status = 0;
  runState.error = undefined;
  const [{ default: yargs }, mod] = await Promise.all([import('yargs'), entry.load()]);
  let status = 0;
  let failed = false;
  let argv = split.rest;
  let trailing: string[] | undefined;
  const optionSpecs = mod.positionalStops?.[split.command as string];
  if (optionSpecs && !argv.includes('--help') && !argv.includes('-h' as string)) {
    const parts = splitAtPositional(argv, optionSpecs);
    argv = parts.head;
    trailing = parts.trailing;
  }
  const y: Argv = yargs([split.command as string, ...argv])
    .scriptName('berth')
    .parserConfiguration({
      'populate--': false,
      'camel-case-expansion': true,
      // docker has real --no-trunc, --no-stream, --no-stdin flags, not negations.
      'boolean-negation': false,
      'strip-aliased': true,
    })
    .help('help')
    // run and create use -h for --hostname, as docker does.
    .alias('help', split.command === 'run' || split.command === 'create' ? [] : ['h'])
    .version(false)
    .strict()
    .wrap(Math.min(100, process.stdout.columns || 80))
    .exitProcess(false)
    .fail((msg, err) => {
      if (failed) return;
      failed = true;
      runState.failed = true;
      if (err) throw err;
      cli.err.write(`berth: ${msg}\nSee 'berth ${split.command} --help'.\n`);
      status = 125;
    });
  for (const c of mod.commands(cli)) {
    const name = String(c.command).split(' ')[0];
    if (name !== split.command && !(c.aliases ?? []).includes(split.command as string)) continue;
    const handler = c.handler;
    y.command({
      ...c,
      handler: async (args: any) => {
        // With exitProcess(false) yargs still calls the handler after a usage error.
        if (failed) return;
        if (trailing) args.command = trailing;
        try {
          await handler(args);
          status = runState.status;
        } catch (e) {
          status = cli.report(e);
        }
      },
    });
  }
  try {
    await y.parseAsync();
  } catch (e) {
    if (!failed) status = cli.report(e);
    return status;
  }
  if (failed) return 125;
  if (runState.error !== undefined) return cli.report(runState.error);
  return status || runState.status;
}

