// Every top-level command, its one-line description, and the module that implements
// it. Only the module for the command being run is loaded.
import type { CommandModule, Options } from 'yargs';
import type { Cli } from '../cli.js';

export interface CommandModuleFile {
  commands: (cli: Cli) => CommandModule<any, any>[];
  /** Commands whose flags stop at their first positional, with their option specs. */
  positionalStops?: Record<string, Record<string, Options>>;
}

export type CommandLoader = () => Promise<CommandModuleFile>;

export interface CommandEntry {
  name: string;
  describe: string;
  group: 'Common Commands' | 'Management Commands' | 'Commands' | 'Hidden';
  load: CommandLoader;
}

const container: CommandLoader = () => import('./container.js');
const run: CommandLoader = () => import('./run.js');
const image: CommandLoader = () => import('./image.js');
const volume: CommandLoader = () => import('./volume.js');
const network: CommandLoader = () => import('./network.js');
const system: CommandLoader = () => import('./system.js');
const login: CommandLoader = () => import('./login.js');
const completion: CommandLoader = () => import('./completion.js');

const C = 'Common Commands' as const;
const M = 'Management Commands' as const;
const O = 'Commands' as const;

export const commandTable: CommandEntry[] = [
  { name: 'run', describe: 'Create and run a new container from an image', group: C, load: run },
  { name: 'exec', describe: 'Execute a command in a running container', group: C, load: run },
  { name: 'ps', describe: 'List containers', group: C, load: container },
  { name: 'pull', describe: 'Download an image from a registry', group: C, load: image },
  { name: 'push', describe: 'Upload an image to a registry', group: C, load: image },
  { name: 'images', describe: 'List images', group: C, load: image },
  { name: 'login', describe: 'Authenticate to a registry', group: C, load: login },
  { name: 'logout', describe: 'Log out from a registry', group: C, load: login },
  { name: 'version', describe: 'Show the berth version information', group: C, load: system },
  { name: 'info', describe: 'Display system-wide information', group: C, load: system },
  { name: 'container', describe: 'Manage containers', group: M, load: container },
  { name: 'image', describe: 'Manage images', group: M, load: image },
  { name: 'network', describe: 'Manage networks', group: M, load: network },
  { name: 'system', describe: 'Manage berth', group: M, load: system },
  { name: 'volume', describe: 'Manage volumes', group: M, load: volume },
  { name: 'attach', describe: "Attach local standard input, output, and error streams to a running container", group: O, load: run },
  { name: 'cp', describe: 'Copy files/folders between a container and the local filesystem', group: O, load: container },
  { name: 'create', describe: 'Create a new container', group: O, load: run },
  { name: 'events', describe: 'Get real time events from the server', group: O, load: system },
  { name: 'export', describe: "Export a container's filesystem as a tar archive", group: O, load: container },
  { name: 'import', describe: 'Import the contents from a tarball to create a filesystem image', group: O, load: image },
  { name: 'inspect', describe: 'Return low-level information on berth objects', group: O, load: system },
  { name: 'kill', describe: 'Kill one or more running containers', group: O, load: container },
  { name: 'load', describe: 'Load an image from a tar archive or STDIN', group: O, load: image },
  { name: 'logs', describe: 'Fetch the logs of a container', group: O, load: container },
  { name: 'pause', describe: 'Pause all processes within one or more containers', group: O, load: container },
  { name: 'port', describe: 'List port mappings or a specific mapping for the container', group: O, load: container },
  { name: 'rename', describe: 'Rename a container', group: O, load: container },
  { name: 'restart', describe: 'Restart one or more containers', group: O, load: container },
  { name: 'rm', describe: 'Remove one or more containers', group: O, load: container },
  { name: 'rmi', describe: 'Remove one or more images', group: O, load: image },
  { name: 'save', describe: 'Save one or more images to a tar archive (streamed to STDOUT by default)', group: O, load: image },
  { name: 'start', describe: 'Start one or more stopped containers', group: O, load: run },
  { name: 'stats', describe: 'Display a live stream of container(s) resource usage statistics', group: O, load: container },
  { name: 'stop', describe: 'Stop one or more running containers', group: O, load: container },
  { name: 'tag', describe: 'Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE', group: O, load: image },
  { name: 'top', describe: 'Display the running processes of a container', group: O, load: container },
  { name: 'unpause', describe: 'Unpause all processes within one or more containers', group: O, load: container },
  { name: 'update', describe: 'Update configuration of one or more containers', group: O, load: container },
  { name: 'wait', describe: 'Block until one or more containers stop, then print their exit codes', group: O, load: container },
  { name: 'completion', describe: 'Generate the shell completion script (bash or zsh)', group: O, load: completion },
  { name: '__names', describe: 'Names of containers, images, volumes or networks (for completion)', group: 'Hidden', load: completion },
  { name: 'container-prune', describe: 'Remove all stopped containers', group: 'Hidden', load: container },
  { name: 'image-prune', describe: 'Remove unused images', group: 'Hidden', load: image },
];
