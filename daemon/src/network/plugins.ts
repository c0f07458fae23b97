// Running CNI plugins as the CNI spec (SPEC.md, "Execution protocol") says: the
// binary found in CNI_PATH, parameters in CNI_* environment variables, the network
// configuration on stdin, a result (ADD) or nothing (DEL, CHECK) on stdout, and on
// failure a non-zero exit with an error object {code, msg, details} on stdout.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { DaemonError } from '../errors.js';

export type CniCommand = 'ADD' | 'DEL' | 'CHECK' | 'VERSION';

export interface CniArgs {
  command: CniCommand;
  containerId: string;
  /** Path of the network namespace; may be empty for DEL when it is gone. */
  netns: string;
  ifname: string;
}

export class CniError extends DaemonError {
  constructor(
    readonly plugin: string,
    readonly code: number,
    message: string,
  ) {
    super('internal', message);
  }
}

export function execPlugin(binDir: string, type: string, args: CniArgs, config: object): Promise<any> {
  const bin = join(binDir, type);
  if (!existsSync(bin)) return Promise.reject(new CniError(type, 0, `CNI plugin ${type} not found in ${binDir}`));
  return new Promise((resolve, reject) => {
    const p = spawn(bin, [], {
      env: {
        PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin',
        CNI_COMMAND: args.command,
        CNI_CONTAINERID: args.containerId,
        CNI_NETNS: args.netns,
        CNI_IFNAME: args.ifname,
        CNI_PATH: binDir,
      },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    p.stdout.on('data', (d) => out.push(d));
    p.stderr.on('data', (d) => err.push(d));
    p.on('error', reject);
    p.stdin.on('error', () => {});
    p.on('close', (code) => {
      const text = Buffer.concat(out).toString();
      let parsed: any = {};
      try {
        if (text.trim()) parsed = JSON.parse(text);
      } catch {}
      if (code === 0) return resolve(parsed);
      const detail = parsed?.msg ? `${parsed.msg}${parsed.details ? `: ${parsed.details}` : ''}` : Buffer.concat(err).toString().trim() || `exit status ${code}`;
      reject(new CniError(type, Number(parsed?.code ?? 0), `CNI ${type} ${args.command}: ${detail}`));
    });
    p.stdin.end(JSON.stringify(config));
  });
}

export function run(cmd: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const p = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    p.stdout.on('data', (d) => out.push(d));
    p.stderr.on('data', (d) => err.push(d));
    p.on('error', reject);
    p.on('close', (code) =>
      code === 0 ? resolve(Buffer.concat(out).toString()) : reject(new DaemonError('internal', `${cmd} ${args.join(' ')}: ${Buffer.concat(err).toString().trim()}`)),
    );
  });
}

/**
 * The bridge plugin removes a container's masquerade rules only when it can read the
 * addresses from the container's namespace; if that namespace was lost (a crash
 * before teardown), the rules it tagged with `id: "<container id>"` are removed here.
 */
export async function dropTaggedNatRules(containerId: string): Promise<number> {
  let listing: string;
  try {
    listing = await run('iptables', ['-w', '-t', 'nat', '-S', 'POSTROUTING']);
  } catch {
    return 0;
  }
  let n = 0;
  for (const line of listing.split('\n')) {
    if (!line.includes(`id: \\"${containerId}\\"`)) continue;
    const m = /^-A POSTROUTING -s (\S+) -m comment --comment "(.*)" -j (\S+)$/.exec(line);
    if (!m) continue;
    const comment = m[2]!.replace(/\\"/g, '"');
    const chain = m[3]!;
    await run('iptables', ['-w', '-t', 'nat', '-D', 'POSTROUTING', '-s', m[1]!, '-m', 'comment', '--comment', comment, '-j', chain]).catch(() => {});
    if (chain.startsWith('CNI-')) {
      await run('iptables', ['-w', '-t', 'nat', '-F', chain]).catch(() => {});
      await run('iptables', ['-w', '-t', 'nat', '-X', chain]).catch(() => {});
    }
    n++;
  }
  return n;
}
