// login / logout: credentials checked by the daemon (POST /auth) and kept in
// config.json as docker does (auths[registry].auth = base64("user:password"), 0600).
import type { CommandModule } from 'yargs';
import { type Cli, CliError } from '../cli.js';
import { DaemonError, readAll } from '../client/engine.js';
import { command } from './common.js';
import { configPath, DEFAULT_REGISTRY, encodeAuth, readConfig, registryKey, writeConfig } from './config.js';

async function prompt(cli: Cli, question: string, hidden: boolean): Promise<string> {
  const stdin = cli.in;
  if (!stdin.isTTY) throw new CliError('Error: Cannot perform an interactive login from a non TTY device');
  cli.out.write(question);
  if (hidden) stdin.setRawMode(true);
  return new Promise((resolve) => {
    let buf = '';
    const onData = (d: Buffer) => {
      for (const ch of d.toString()) {
        if (ch === '\r' || ch === '\n') {
          stdin.off('data', onData);
          if (hidden) {
            stdin.setRawMode(false);
            cli.out.write('\n');
          }
          stdin.pause();
          resolve(buf);
          return;
        }
        if (ch === '\u0003') {
          if (hidden) stdin.setRawMode(false);
          process.exit(130);
        }
        if (ch === '\u007f') buf = buf.slice(0, -1);
        else buf += ch;
      }
    };
    stdin.on('data', onData);
    stdin.resume();
  });
}

/** Loopback registries are plain HTTP by default, as docker's insecure 127.0.0.0/8. */
function isLoopback(host: string): boolean {
  return /^(localhost|127\.\d+\.\d+\.\d+|\[::1\])(:\d+)?$/.test(host);
}

/**
 * Checks credentials against the registry's /v2/ endpoint as a daemon's /auth would:
 * basic auth, or for a Bearer challenge a token request to its realm with them.
 */
export async function verifyLogin(key: string, username: string, password: string): Promise<void> {
  const host = key === DEFAULT_REGISTRY ? 'registry-1.docker.io' : key;
  const base = `${isLoopback(host) ? 'http' : 'https'}://${host}/v2/`;
  const basic = `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`;
  let res: Response;
  try {
    res = await fetch(base, { headers: { Authorization: basic } });
  } catch (e) {
    throw new DaemonError(500, `Get "${base}": ${(e as { cause?: Error }).cause?.message ?? (e as Error).message}`);
  }
  const challenge = res.headers.get('www-authenticate') ?? '';
  if (res.status === 401 && /^bearer /i.test(challenge)) {
    const params = Object.fromEntries([...challenge.matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1].toLowerCase(), m[2]]));
    const url = new URL(params.realm ?? '');
    if (params.service) url.searchParams.set('service', params.service);
    url.searchParams.set('account', username);
    res = await fetch(url, { headers: { Authorization: basic } });
  }
  if (res.status >= 200 && res.status < 300) return;
  throw new DaemonError(res.status, `login attempt to ${base} failed with status: ${res.status} ${res.statusText}`);
}

export function commands(cli: Cli): CommandModule<any, any>[] {
  return [
    command('login [server]', 'Authenticate to a registry', {
      password: { alias: 'p', type: 'string', describe: 'Password or Personal Access Token (PAT)' },
      'password-stdin': { type: 'boolean', describe: 'Take the Password or Personal Access Token (PAT) from stdin' },
      username: { alias: 'u', type: 'string', describe: 'Username' },
    }, async (a) => {
      const key = registryKey(a.server);
      let password: string | undefined = a.password;
      if (a.passwordStdin) {
        if (a.password) throw new CliError('--password and --password-stdin are mutually exclusive');
        if (!a.username) throw new CliError('Must provide --username with --password-stdin');
        password = (await readAll(cli.in)).toString().replace(/\r?\n$/, '');
      } else if (password) {
        cli.err.write('WARNING! Using --password via the CLI is insecure. Use --password-stdin.\n');
      }
      const username: string = a.username ?? (await prompt(cli, 'Username: ', false));
      if (!username) throw new CliError('Error: Non-null Username Required');
      password ??= await prompt(cli, 'Password: ', true);
      if (!password) throw new CliError('Error: Password Required');
      let r: { Status?: string; IdentityToken?: string } | undefined;
      try {
        r = await cli.client.post('/auth', undefined, { username, password, serveraddress: key });
      } catch (e) {
        // A daemon without POST /auth (berthd has none yet): check the credentials here.
        if (!(e instanceof DaemonError && e.statusCode === 404)) throw e;
        await verifyLogin(key, username, password);
      }
      const cfg = readConfig(cli.configDir);
      cfg.auths ??= {};
      cfg.auths[key] = r?.IdentityToken ? { auth: encodeAuth(username, ''), identitytoken: r.IdentityToken } : { auth: encodeAuth(username, password) };
      writeConfig(cli.configDir, cfg);
      cli.err.write(`\nWARNING! Your credentials are stored unencrypted in '${configPath(cli.configDir)}'.\n\n`);
      cli.print(r?.Status || 'Login Succeeded');
    }),
    command('logout [server]', 'Log out from a registry', {}, async (a) => {
      const key = registryKey(a.server);
      const cfg = readConfig(cli.configDir);
      if (!cfg.auths?.[key]) {
        cli.print(`Not logged in to ${a.server ?? key}`);
        return;
      }
      cli.print(`Removing login credentials for ${key}`);
      delete cfg.auths[key];
      writeConfig(cli.configDir, cfg);
    }),
  ];
}
