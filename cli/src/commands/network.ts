// berth network ls | inspect | create | rm | connect | disconnect | prune
import type { CommandModule } from 'yargs';
import { type Cli, CliError, forEach, inspectEach, toArray } from '../cli.js';
import { networkFormat, networkRow } from '../format/contexts.js';
import { naturalCompare, renderInspect, renderList } from '../format/output.js';
import { command, confirm, filterOption, filtersJson, formatOption, keyValues, noTruncOption } from './common.js';

const enc = encodeURIComponent;

export function commands(cli: Cli): CommandModule<any, any>[] {
  const c = cli.client;
  const subs = [
    command('ls', 'List networks', {
      filter: filterOption,
      format: formatOption,
      'no-trunc': noTruncOption,
      quiet: { alias: 'q', type: 'boolean', describe: 'Only display network IDs' },
    }, async (a) => {
      const list: any[] = await c.get('/networks', { filters: filtersJson(a.filter) });
      const rows = list.map((n) => networkRow(n, { noTrunc: a.noTrunc })).sort((x: any, y: any) => naturalCompare(x.Name, y.Name));
      cli.out.write(renderList(rows, a.quiet && !a.format ? '{{.ID}}' : a.format, networkFormat));
    }, { aliases: ['list'] }),
    command('inspect <networks..>', 'Display detailed information on one or more networks', {
      format: { alias: 'f', type: 'string', describe: 'Format output using a custom template' },
      verbose: { alias: 'v', type: 'boolean', describe: 'Verbose output for diagnostics' },
    }, async (a) => {
      const get = (n: string) => c.get(`/networks/${enc(n)}`, { verbose: a.verbose ? 'true' : undefined });
      return inspectEach(cli, toArray(a.networks), get, (items) => (items.length || !a.format ? renderInspect(items, a.format) : undefined));
    }),
    command('create <name>', 'Create a network', {
      attachable: { type: 'boolean', describe: 'Enable manual container attachment' },
      driver: { alias: 'd', type: 'string', describe: 'Driver to manage the Network', default: 'bridge' },
      gateway: { type: 'string', describe: 'IPv4 or IPv6 Gateway for the master subnet' },
      internal: { type: 'boolean', describe: 'Restrict external access to the network' },
      'ip-range': { type: 'string', describe: 'Allocate container ip from a sub-range' },
      ipv6: { type: 'boolean', describe: 'Enable or disable IPv6 networking' },
      label: { type: 'string', describe: 'Set metadata on a network' },
      opt: { alias: 'o', type: 'string', describe: 'Set driver specific options' },
      subnet: { type: 'string', describe: 'Subnet in CIDR format that represents a network segment' },
    }, async (a) => {
      const subnets = toArray(a.subnet);
      const gateways = toArray(a.gateway);
      const ranges = toArray(a.ipRange);
      if (gateways.length > subnets.length) throw new CliError('every ip-range or gateway must have a corresponding subnet');
      const config = subnets.map((s, i) => ({ Subnet: s, Gateway: gateways[i], IPRange: ranges[i] }));
      const r = await c.post('/networks/create', undefined, {
        Name: a.name,
        Driver: a.driver,
        Internal: Boolean(a.internal),
        Attachable: Boolean(a.attachable),
        EnableIPv6: a.ipv6 ? true : undefined,
        IPAM: { Driver: 'default', Config: config, Options: {} },
        Options: keyValues(a.opt),
        Labels: keyValues(a.label),
      });
      if (r?.Warning) cli.err.write(`${r.Warning}\n`);
      cli.print(r.Id);
    }),
    command('rm <networks..>', 'Remove one or more networks', { force: { alias: 'f', type: 'boolean', describe: 'Do not error if the network does not exist' } }, async (a) => {
      const status = await forEach(cli, toArray(a.networks), async (n) => {
        try {
          await c.delete(`/networks/${enc(n)}`);
        } catch (e) {
          if (a.force && (e as { statusCode?: number }).statusCode === 404) return undefined;
          throw e;
        }
        return n;
      });
      // docker's network rm ends a failed run with this line of its own.
      if (status !== 0) cli.err.write(`exit status ${status}\n`);
      return status;
    }, { aliases: ['remove'] }),
    command('connect <network> <container>', 'Connect a container to a network', {
      alias: { type: 'string', describe: 'Add network-scoped alias for the container' },
      ip: { type: 'string', describe: 'IPv4 address (e.g., "172.30.100.104")' },
      ip6: { type: 'string', describe: 'IPv6 address (e.g., "2001:db8::33")' },
    }, async (a) => {
      const ipam = a.ip || a.ip6 ? { IPv4Address: a.ip, IPv6Address: a.ip6 } : undefined;
      await c.post(`/networks/${enc(a.network)}/connect`, undefined, { Container: a.container, EndpointConfig: { Aliases: toArray(a.alias), IPAMConfig: ipam } });
    }),
    command('disconnect <network> <container>', 'Disconnect a container from a network', { force: { alias: 'f', type: 'boolean', describe: 'Force the container to disconnect from a network' } }, async (a) => {
      await c.post(`/networks/${enc(a.network)}/disconnect`, undefined, { Container: a.container, Force: Boolean(a.force) });
    }),
    command('prune', 'Remove all unused networks', {
      filter: { type: 'string', describe: 'Provide filter values' },
      force: { alias: 'f', type: 'boolean', describe: 'Do not prompt for confirmation' },
    }, async (a) => {
      if (!a.force && !(await confirm(cli, 'WARNING! This will remove all custom networks not used by at least one container.\nAre you sure you want to continue?'))) return;
      const r = await c.post('/networks/prune', { filters: filtersJson(a.filter) });
      const deleted: string[] = r?.NetworksDeleted ?? [];
      if (deleted.length) cli.out.write(`Deleted Networks:\n${deleted.join('\n')}\n\n`);
    }),
  ];
  return [
    {
      command: 'network',
      describe: 'Manage networks',
      builder: (y) => y.command(subs).demandCommand(1, 'berth network requires a subcommand'),
      handler: () => {},
    },
  ];
}
