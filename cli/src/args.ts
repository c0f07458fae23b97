// Global flags, read by hand before the command word (so --version and the top-level
// help need neither yargs nor any command module), and the `container`/`image`
// management commands mapped onto the top-level commands they name.
import type { Globals } from './cli.js';
import { commandTable } from './commands/table.js';

// `berth container ls`, `berth image rm` ... are the top-level commands under other names.
const CONTAINER_ALIASES: Record<string, string[]> = { ls: ['ps'], list: ['ps'], inspect: ['inspect', '--type', 'container'], prune: ['container-prune'] };
const IMAGE_ALIASES: Record<string, string[]> = { ls: ['images'], list: ['images'], rm: ['rmi'], remove: ['rmi'], inspect: ['inspect', '--type', 'image'], prune: ['image-prune'] };
const CONTAINER_SUBS = ['attach', 'cp', 'create', 'exec', 'export', 'kill', 'logs', 'pause', 'port', 'rename', 'restart', 'rm', 'run', 'start', 'stats', 'stop', 'top', 'unpause', 'update', 'wait'];
const IMAGE_SUBS = ['import', 'load', 'pull', 'push', 'save', 'tag'];

export interface Split {
  globals: Globals;
  globalArgs: string[];
  command?: string;
  rest: string[];
  help: boolean;
  version: boolean;
}

/** Reads the global flags before the command word. */
export function splitArgs(argv: string[]): Split {
  const globals: Globals = {};
  const globalArgs: string[] = [];
  let help = false;
  let version = false;
  let i = 0;
  for (; i < argv.length; i++) {
    const a = argv[i];
    const eq = a.indexOf('=');
    const name = a.startsWith('--') && eq > 0 ? a.slice(0, eq) : a;
    const inline = a.startsWith('--') && eq > 0 ? a.slice(eq + 1) : undefined;
    const value = () => {
      if (inline !== undefined) return inline;
      globalArgs.push(argv[i + 1] ?? '');
      return argv[++i];
    };
    if (name === '-H' || name === '--host') {
      globalArgs.push(a);
      globals.host = value();
    } else if (name === '--config') {
      globalArgs.push(a);
      globals.config = value();
    } else if (name === '-l' || name === '--log-level' || name === '--context' || name === '-c') {
      globalArgs.push(a);
      value();
    } else if (a === '-D' || a === '--debug') {
      globals.debug = true;
    } else if (a === '-h' || a === '--help') {
      help = true;
    } else if (a === '-v' || a === '--version') {
      version = true;
    } else if (a === '--') {
      i++;
      break;
    } else if (a.startsWith('-')) {
      break;
    } else {
      break;
    }
  }
  let command: string | undefined = argv[i];
  let rest = argv.slice(i + 1);
  if (command?.startsWith('-')) {
    // An unknown global flag: let yargs report it.
    rest = argv.slice(i);
    command = undefined;
  }
  if (command === 'container' || command === 'image') {
    const sub = rest[0];
    const aliases = command === 'container' ? CONTAINER_ALIASES : IMAGE_ALIASES;
    const subs = command === 'container' ? CONTAINER_SUBS : IMAGE_SUBS;
    if (sub && aliases[sub]) {
      const [c, ...pre] = aliases[sub];
      command = c;
      rest = [...pre, ...rest.slice(1)];
    } else if (sub && subs.includes(sub)) {
      command = sub;
      rest = rest.slice(1);
    }
  }
  return { globals, globalArgs, command, rest, help, version };
}

/** `berth container` / `berth image` alone: the subcommands they offer. */
export function managementHelp(group: 'container' | 'image'): string {
  const aliases = group === 'container' ? CONTAINER_ALIASES : IMAGE_ALIASES;
  const subs = [...Object.keys(aliases), ...(group === 'container' ? CONTAINER_SUBS : IMAGE_SUBS)].sort();
  return `Usage:  berth ${group} COMMAND\n\nManage ${group}s\n\nCommands:\n${subs.map((s) => `  ${s}`).join('\n')}\n\nRun 'berth ${group} COMMAND --help' for more information on a command.\n`;
}

export function topLevelHelp(): string {
  const lines = ['Usage:  berth [OPTIONS] COMMAND', '', 'A container engine with a docker-style command line', ''];
  for (const group of ['Common Commands', 'Management Commands', 'Commands'] as const) {
    lines.push(`${group}:`);
    for (const c of commandTable.filter((e) => e.group === group)) lines.push(`  ${c.name.padEnd(11)} ${c.describe}`);
    lines.push('');
  }
  lines.push(
    'Global Options:',
    '      --config string      Location of client config files (default "~/.berth")',
    '  -D, --debug              Enable debug mode',
    '  -H, --host string        Daemon socket to connect to (BERTH_HOST, DOCKER_HOST;',
    '                           default unix:///run/berth/berthd.sock)',
    '  -v, --version            Print version information and quit',
    '',
    "Run 'berth COMMAND --help' for more information on a command.",
    '',
  );
  return lines.join('\n');
}


/**
 * For run/create/exec, docker stops reading flags at the first positional after the
 * flags (the image or container): what follows is the container's command line even
 * when it looks like flags (`run busybox ls -la`). Returns the part for the parser
 * (flags and the one positional) and the trailing command.
 */
export function splitAtPositional(
  rest: string[],
  options: Record<string, { type?: string; alias?: string | readonly string[] }>,
): { head: string[]; trailing: string[] } {
  const takesValue = new Set<string>();
  for (const [name, o] of Object.entries(options)) {
    if (o.type === 'boolean') continue;
    takesValue.add(name.length === 1 ? `-${name}` : `--${name}`);
    for (const al of [o.alias ?? []].flat()) takesValue.add(al.length === 1 ? `-${al}` : `--${al}`);
  }
  for (let i = 0; i < rest.length; i++) {
    const a = rest[i];
    if (a === '--') return { head: [...rest.slice(0, i), ...rest.slice(i + 1, i + 2)], trailing: rest.slice(i + 2) };
    if (!a.startsWith('-') || a === '-') return { head: rest.slice(0, i + 1), trailing: rest.slice(i + 1) };
    if (a.includes('=')) continue;
    if (takesValue.has(a)) {
      i++;
      continue;
    }
    // A bundle of short flags whose last letter takes a value (-dp 80:80).
    if (/^-[a-zA-Z]{2,}$/.test(a) && takesValue.has(`-${a[a.length - 1]}`)) i++;
  }
  return { head: rest, trailing: [] };
}
