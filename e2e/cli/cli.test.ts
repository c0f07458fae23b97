// berth without a daemon: version, help, usage errors, unreachable daemon.
import { describe, expect, it } from 'vitest';
import { berthBin } from './helpers.js';

const env = { ...process.env, BERTH_HOST: 'unix:///nonexistent/cli-e2e.sock' };

describe('berth without a daemon', () => {
  it('prints its version and help', async () => {
    const v = await berthBin(['--version'], env);
    expect(v.status).toBe(0);
    expect(v.out).toMatch(/^berth version \d+\.\d+\.\d+, build \S+\n$/);
    const h = await berthBin(['--help'], env);
    expect(h.status).toBe(0);
    for (const c of ['run', 'ps', 'images', 'volume', 'network', 'system', 'login', 'completion']) expect(h.out).toMatch(new RegExp(`^  ${c} `, 'm'));
    const ps = await berthBin(['ps', '--help'], env);
    expect(ps.status).toBe(0);
    expect(ps.out).toContain('--no-trunc');
  });

  it('exits 1 for an unknown command and 125 for a bad flag', async () => {
    const r = await berthBin(['frobnicate'], env);
    expect(r).toMatchObject({ status: 1, err: "berth: 'frobnicate' is not a berth command.\nSee 'berth --help'\n" });
    const f = await berthBin(['ps', '--frobnicate'], env);
    expect(f.status).toBe(125);
    expect(f.err).toContain("See 'berth ps --help'.");
  });

  it('says where it looked for the daemon, honouring -H, BERTH_HOST and DOCKER_HOST', async () => {
    const r = await berthBin(['ps'], env);
    expect(r).toMatchObject({ status: 1, err: 'Cannot connect to the berth daemon at unix:///nonexistent/cli-e2e.sock. Is the daemon running?\n' });
    const h = await berthBin(['-H', 'unix:///nonexistent/cli-other.sock', 'ps'], env);
    expect(h.err).toContain('unix:///nonexistent/cli-other.sock');
    const { BERTH_HOST: _, ...rest } = env;
    const d = await berthBin(['images'], { ...rest, DOCKER_HOST: 'unix:///nonexistent/cli-docker.sock' });
    expect(d.err).toContain('unix:///nonexistent/cli-docker.sock');
  });

  it('prints completion scripts that bash accepts', async () => {
    const r = await berthBin(['completion', 'bash'], env);
    expect(r.status).toBe(0);
    const { execFileSync } = await import('node:child_process');
    // Loading the script and completing "berth vol" must offer "volume".
    const out = execFileSync('bash', ['-c', `${r.out}\nCOMP_WORDS=(berth vol); COMP_CWORD=1; _berth; echo "\${COMPREPLY[@]}"`]).toString();
    expect(out.trim()).toBe('volume');
  });
});
