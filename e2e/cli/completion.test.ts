// Shell completion against a real berthd: zsh loads `berth completion zsh` after
// compinit and is driven through a pseudo-terminal with zsh/zpty (tab pressed as a user
// would); bash calls the completion function the way readline does. Both must offer
// subcommands and the daemon's container, image, volume and network names.
import { chmodSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixtures } from '../fixtures/index.js';
import { bins } from '../helpers.js';
import { type Daemon, exec, guarded, startDaemon, uid } from './helpers.js';

const ZSH = '/usr/bin/zsh';

describe('shell completion against berthd', () => {
  let d: Daemon;
  let dir: string;
  let env: NodeJS.ProcessEnv;
  const container = uid('cli-compl');
  const stopped = uid('cli-compl');
  const volume = uid('cli-complvol');
  const image = `cli-compl/${uid('img')}:v1`;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'cli-completion-'));
    d = await startDaemon();
    expect((await d.berth(['load', '-i', fixtures().dockerArchive])).status).toBe(0);
    expect((await d.berth(['tag', 'busybox', image])).status).toBe(0);
    expect((await d.berth(['run', '-d', '--name', container, 'busybox', 'sleep', '600'])).status).toBe(0);
    expect((await d.berth(['create', '--name', stopped, 'busybox', 'true'])).status).toBe(0);
    expect((await d.berth(['volume', 'create', volume])).status).toBe(0);
    // The scripts run `berth __names KIND`: a `berth` on PATH that is this build.
    const binDir = join(dir, 'bin');
    await exec('mkdir', ['-p', binDir]);
    writeFileSync(join(binDir, 'berth'), `#!/bin/sh\nexec "${process.execPath}" "${bins.cli}" "$@"\n`);
    chmodSync(join(binDir, 'berth'), 0o755);
    env = { ...process.env, PATH: `${binDir}:${process.env.PATH}`, BERTH_HOST: d.host, HOME: dir, TERM: 'dumb' };
  });
  afterAll(async () => {
    await d?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  /**
   * Types each line's text in an interactive `zsh -f` (compinit, berth's script loaded),
   * presses tab, and returns what the terminal showed for each: the completed line or the
   * list of candidates.
   */
  async function zshComplete(typed: string[]): Promise<string[]> {
    const script = join(dir, 'berth.zsh');
    writeFileSync(script, (await d.berth(['completion', 'zsh'])).out);
    const driver = join(dir, 'drive.zsh');
    const cases = typed
      .map(
        (t, i) => `zpty -n -w z ${shellQuote(`${t}\t`)}
zpty -n -w z $'\\C-u'
zpty -w z 'print CASE-END-$((${i}+1000))'
zpty -r -m z out '*CASE-END-${i + 1000}*' || { print -r -- "TIMEOUT $i"; exit 1 }
print -r -- "<<<CASE ${i}>>>"
print -r -- "$out"`,
      )
      .join('\n');
    writeFileSync(
      driver,
      `zmodload zsh/zpty
zpty z 'zsh -f -i'
zpty -w z "PS1='%% '; unsetopt zle_bracketed_paste 2>/dev/null; autoload -Uz compinit; compinit -u -D; source ${script}; zstyle ':completion:*' list-rows-first true; print READY-\\$((1))"
zpty -r -m z out '*READY-1*' || { print TIMEOUT-START; exit 1 }
${cases}
zpty -d z
`,
    );
    const r = await exec(ZSH, ['-f', driver], { env });
    expect(r.err).toBe('');
    expect(r.status).toBe(0);
    const parts = r.out.split(/<<<CASE \d+>>>\n/).slice(1);
    expect(parts).toHaveLength(typed.length);
    // Drop the terminal's control sequences; keep the text.
    return parts.map((p) => p.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '').replace(/\r/g, ''));
  }

  it.skipIf(!existsSync(ZSH))('zsh: commands, subcommands and container, image, volume and network names complete', async () => {
    await guarded(d, async () => {
      const [commands, volumeSub, stop, start, rmi, volRm, netInspect, unique] = await zshComplete([
        'berth ',
        'berth volume ',
        'berth stop ',
        'berth start ',
        'berth rmi ',
        'berth volume rm ',
        'berth network inspect ',
        `berth stop ${container.slice(0, -2)}`,
      ]);
      for (const c of ['run', 'ps', 'images', 'volume', 'network', 'system']) expect(commands).toMatch(new RegExp(`(^|\\s)${c}(\\s|$)`, 'm'));
      expect(commands).toContain('Create and run a new container from an image');
      for (const s of ['create', 'inspect', 'ls', 'prune', 'rm']) expect(volumeSub).toMatch(new RegExp(`(^|\\s)${s}(\\s|$)`, 'm'));
      // stop offers running containers only; start the stopped ones.
      expect(stop).toContain(container);
      expect(stop).not.toContain(stopped);
      expect(start).toContain(stopped);
      expect(start).not.toContain(container);
      expect(rmi).toContain(image);
      expect(rmi).toContain('busybox:latest');
      expect(volRm).toContain(volume);
      for (const n of ['bridge', 'host', 'none']) expect(netInspect).toMatch(new RegExp(`(^|\\s)${n}(\\s|$)`, 'm'));
      // A unique prefix is completed in the line itself.
      expect(unique).toContain(`berth stop ${container} `);
    });
  });

  it('bash: the completion function offers the same words', async () => {
    await guarded(d, async () => {
      const script = join(dir, 'berth.bash');
      writeFileSync(script, (await d.berth(['completion', 'bash'])).out);
      const complete = async (...words: string[]) => {
        const line = words.map((w) => `'${w}'`).join(' ');
        const r = await exec('bash', ['-c', `source ${script}; COMP_WORDS=(${line}); COMP_CWORD=${words.length - 1}; _berth; printf '%s\\n' "\${COMPREPLY[@]}"`], { env });
        expect(r.err).toBe('');
        return r.out.split('\n').filter(Boolean).sort();
      };
      expect(await complete('berth', 'vol')).toEqual(['volume']);
      expect(await complete('berth', 'volume', '')).toEqual(['create', 'inspect', 'ls', 'prune', 'rm']);
      expect(await complete('berth', 'stop', '')).toContain(container);
      expect(await complete('berth', 'stop', '')).not.toContain(stopped);
      expect(await complete('berth', 'start', '')).toContain(stopped);
      expect(await complete('berth', 'rmi', 'cli-compl/')).toEqual([image]);
      expect(await complete('berth', 'volume', 'rm', volume.slice(0, -1))).toEqual([volume]);
      expect(await complete('berth', 'network', 'connect', '')).toEqual(['bridge', 'host', 'none']);
      expect(await complete('berth', '-H', d.host, 'exec', container.slice(0, -1))).toEqual([container]);
      expect(await complete('berth', 'run', '--rest')).toEqual(['--restart']);
    });
  });
});

function shellQuote(s: string): string {
  return `$'${s.replace(/\\/g, '\\\\').replace(/'/g, "\\'").replace(/\t/g, '\\t')}'`;
}
