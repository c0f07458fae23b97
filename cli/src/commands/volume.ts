// berth volume create | ls | inspect | rm | prune
import type { CommandModule } from 'yargs';
import { type Cli, forEach, inspectEach, toArray } from '../cli.js';
import { volumeFormat, volumeRow } from '../format/contexts.js';
import { naturalCompare, renderInspect, renderList } from '../format/output.js';
import { humanSize } from '../format/units.js';
import { command, confirm, filterOption, filtersJson, formatOption, keyValues, quietOption } from './common.js';

const enc = encodeURIComponent;

function sortKeys(v: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(v ?? {}).sort()) out[k] = v[k];
  return out;
}

export function commands(cli: Cli): CommandModule<any, any>[] {
  const c = cli.client;
  const subs = [
    command('create [name]', 'Create a volume', {
      driver: { alias: 'd', type: 'string', describe: 'Specify volume driver name', default: 'local' },
      label: { type: 'string', describe: 'Set metadata for a volume' },
      opt: { alias: 'o', type: 'string', describe: 'Set driver specific options' },
    }, async (a) => {
      const v = await c.post('/volumes/create', undefined, { Name: a.name ?? '', Driver: a.driver, DriverOpts: keyValues(a.opt), Labels: keyValues(a.label) });
      cli.print(v.Name);
    }),
    command('ls', 'List volumes', {
      filter: filterOption,
      format: formatOption,
      quiet: { alias: 'q', type: 'boolean', describe: 'Only display volume names' },
    }, async (a) => {
      const r = await c.get('/volumes', { filters: filtersJson(a.filter) });
      const rows = (r?.Volumes ?? []).map(volumeRow).sort((x: any, y: any) => naturalCompare(x.Name, y.Name));
      for (const w of r?.Warnings ?? []) cli.err.write(`${w}\n`);
      cli.out.write(renderList(rows, a.quiet && !a.format ? '{{.Name}}' : a.format, volumeFormat));
    }, { aliases: ['list'] }),
    command('inspect <volumes..>', 'Display detailed information on one or more volumes', { format: { alias: 'f', type: 'string', describe: 'Format output using a custom template' } }, async (a) => {
      // docker prints a volume from its typed struct, whose fields are in name order.
      const get = async (n: string) => sortKeys(await c.get(`/volumes/${enc(n)}`));
      return inspectEach(cli, toArray(a.volumes), get, (items) => (items.length || !a.format ? renderInspect(items, a.format) : undefined));
    }),
    command('rm <volumes..>', 'Remove one or more volumes', { force: { alias: 'f', type: 'boolean', describe: 'Force the removal of one or more volumes' } }, (a) =>
      forEach(cli, toArray(a.volumes), async (n) => {
        await c.delete(`/volumes/${enc(n)}`, { force: a.force ? '1' : undefined });
        return n;
      }), { aliases: ['remove'] }),
    command('prune', 'Remove unused local volumes', {
      all: { alias: 'a', type: 'boolean', describe: 'Remove all unused volumes, not just anonymous ones' },
      filter: { type: 'string', describe: 'Provide filter values' },
      force: { alias: 'f', type: 'boolean', describe: 'Do not prompt for confirmation' },
    }, async (a) => {
      if (!a.force && !(await confirm(cli, 'WARNING! This will remove anonymous local volumes not used by at least one container.\nAre you sure you want to continue?'))) return;
      const filters = a.all ? [...toArray(a.filter), 'all=true'] : a.filter;
      const r = await c.post('/volumes/prune', { filters: filtersJson(filters) });
      const deleted: string[] = r?.VolumesDeleted ?? [];
      if (deleted.length) cli.out.write(`Deleted Volumes:\n${deleted.join('\n')}\n\n`);
      cli.print(`Total reclaimed space: ${humanSize(r?.SpaceReclaimed ?? 0)}`);
    }),
  ];
  void quietOption;
  return [
    {
      command: 'volume',
      describe: 'Manage volumes',
      builder: (y) => y.command(subs).demandCommand(1, 'berth volume requires a subcommand'),
      handler: () => {},
    },
  ];
}
