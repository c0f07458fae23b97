// login / logout: credentials checked by the daemon (POST /auth) and kept in
// config.json as docker does (auths[registry].auth = base64("user:password"), 0600).
import type { CommandModule } from 'yargs';
import { type Cli, CliError } from '../cli.js';
import { readAll } from '../client/engine.js';
import { command } from './common.js';
import { configPath, encodeAuth, readConfig, registryKey, writeConfig } from './config.js';

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
      const r = await cli.client.post('/auth', undefined, { username, password, serveraddress: key });
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
