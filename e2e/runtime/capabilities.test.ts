// Capability sets as the container process sees them in /proc/self/status, for the
// init and for exec (with --cap), as root and as another uid.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { canRun, isBerth, suite } from './rt.js';

const BIT: Record<string, number> = { CAP_CHOWN: 0, CAP_KILL: 5, CAP_NET_BIND_SERVICE: 10, CAP_NET_RAW: 13, CAP_SYS_ADMIN: 21, CAP_AUDIT_WRITE: 29 };
const mask = (...names: string[]) => names.reduce((m, n) => m | (1n << BigInt(BIT[n])), 0n).toString(16).padStart(16, '0');
const SETS = ['CapInh', 'CapPrm', 'CapEff', 'CapBnd', 'CapAmb'];
const READ = 'grep -E "^Cap(Inh|Prm|Eff|Bnd|Amb):" /proc/self/status';

function parse(out: string): Record<string, string> {
  const r: Record<string, string> = {};
  for (const line of out.trim().split('\n')) {
    const [k, v] = line.split(':\t');
    r[k] = v;
  }
  return r;
}

const caps = {
  bounding: ['CAP_CHOWN', 'CAP_KILL', 'CAP_NET_BIND_SERVICE', 'CAP_AUDIT_WRITE'],
  effective: ['CAP_KILL'],
  permitted: ['CAP_CHOWN', 'CAP_KILL'],
  inheritable: ['CAP_CHOWN'],
  ambient: ['CAP_CHOWN'],
};

describe.skipIf(!canRun)('capabilities', () => {
  const s = suite('caps');
  const run = (args: string[], edit?: (c: any) => void) => s.rt(['run', '-b', s.bundle({ args, edit }), s.id()]);

  it('as uid 0 with noNewPrivileges: the sets are exactly as configured', () => {
    const r = run(['sh', '-c', READ], (c) => (c.process.capabilities = caps));
    expect(r.stderr).toBe('');
    const got = parse(r.stdout);
    expect(Object.keys(got)).toEqual(SETS);
    expect(got).toEqual({
      CapInh: mask('CAP_CHOWN'),
      CapPrm: mask('CAP_CHOWN', 'CAP_KILL'),
      // no_new_privs forbids the execve from gaining caps, so effective = permitted.
      CapEff: mask('CAP_CHOWN', 'CAP_KILL'),
      CapBnd: mask('CAP_CHOWN', 'CAP_KILL', 'CAP_NET_BIND_SERVICE', 'CAP_AUDIT_WRITE'),
      CapAmb: mask('CAP_CHOWN'),
    });
  });

  it('as uid 0 without noNewPrivileges: execve refills permitted from the bounding set, so that set is the limit', () => {
    const r = run(['sh', '-c', READ], (c) => {
      c.process.capabilities = caps;
      c.process.noNewPrivileges = false;
    });
    const got = parse(r.stdout);
    expect(got.CapBnd).toBe(mask('CAP_CHOWN', 'CAP_KILL', 'CAP_NET_BIND_SERVICE', 'CAP_AUDIT_WRITE'));
    expect(got.CapPrm).toBe(got.CapBnd);
    expect(got.CapEff).toBe(got.CapBnd);
    expect(got.CapInh).toBe(mask('CAP_CHOWN'));
    expect(got.CapAmb).toBe(mask('CAP_CHOWN'));
  });

  it('as another uid: caps survive the uid switch only through ambient', () => {
    const r = run(['sh', '-c', READ], (c) => {
      c.process.user = { uid: 1000, gid: 1000 };
      c.process.capabilities = caps;
    });
    expect(r.stderr).toBe('');
    expect(parse(r.stdout)).toEqual({
      CapInh: mask('CAP_CHOWN'),
      CapPrm: mask('CAP_CHOWN'),
      CapEff: mask('CAP_CHOWN'),
      CapBnd: mask('CAP_CHOWN', 'CAP_KILL', 'CAP_NET_BIND_SERVICE', 'CAP_AUDIT_WRITE'),
      CapAmb: mask('CAP_CHOWN'),
    });
    // The ambient CAP_CHOWN really works for uid 1000.
    const chown = run(['sh', '-c', 'touch /dev/shm/f && chown 0:0 /dev/shm/f && echo chowned'], (c) => {
      c.process.user = { uid: 1000, gid: 1000 };
      c.process.capabilities = caps;
    });
    expect(chown.stdout).toBe('chowned\n');
  });

  it('with no capabilities at all, uid 0 has empty sets and cannot use root powers', () => {
    const empty = { bounding: [], effective: [], permitted: [], inheritable: [], ambient: [] };
    const r = run(['sh', '-c', `${READ}; touch /dev/shm/f; chown 1:1 /dev/shm/f 2>/dev/null || echo no-chown`], (c) => {
      c.process.capabilities = empty;
      c.process.noNewPrivileges = false;
    });
    expect(r.stdout).toBe(`${SETS.map((k) => `${k}:\t${mask()}`).join('\n')}\nno-chown\n`);
  });

  it('exec gets the process capabilities, and --cap adds to bounding, effective and permitted', () => {
    const b = s.bundle({
      args: ['sleep', '30'],
      edit: (c) => {
        c.process.capabilities = caps;
        c.process.noNewPrivileges = false;
      },
    });
    const cid = s.id();
    expect(s.rt(['run', '-d', '-b', b, cid], { files: true }).status).toBe(0);
    const plain = parse(s.rt(['exec', '-u', '1000:1000', cid, 'sh', '-c', READ]).stdout);
    expect(plain).toEqual({
      CapInh: mask('CAP_CHOWN'),
      CapPrm: mask('CAP_CHOWN'),
      CapEff: mask('CAP_CHOWN'),
      CapBnd: mask('CAP_CHOWN', 'CAP_KILL', 'CAP_NET_BIND_SERVICE', 'CAP_AUDIT_WRITE'),
      CapAmb: mask('CAP_CHOWN'),
    });
    const root = parse(s.rt(['exec', '--cap', 'CAP_NET_RAW', cid, 'sh', '-c', READ]).stdout);
    const all = mask('CAP_CHOWN', 'CAP_KILL', 'CAP_NET_BIND_SERVICE', 'CAP_AUDIT_WRITE', 'CAP_NET_RAW');
    expect(root).toEqual({ CapInh: mask('CAP_CHOWN'), CapPrm: all, CapEff: all, CapBnd: all, CapAmb: mask('CAP_CHOWN') });
    // As uid 1000 only ambient caps survive execve; --cap widens the bounding set only.
    const user = parse(s.rt(['exec', '--cap', 'CAP_NET_RAW', '-u', '1000:1000', cid, 'sh', '-c', READ]).stdout);
    expect(user).toEqual({ ...plain, CapBnd: all });
  });

  // Divergence: runc and crun accept an unknown capability name (runc logs a
  // warning and ignores it); berth refuses the config, naming the capability.
  it('an unknown capability name is an error naming it (berth), ignored by runc', () => {
    const cid = s.id();
    const b = s.bundle({ args: ['true'], edit: (c) => c.process.capabilities.bounding.push('CAP_BERTH_NOPE') });
    const r = s.rt(['run', '-b', b, cid]);
    if (isBerth) {
      expect(r.status).toBe(1);
      expect(r.stderr).toMatch(/process\.capabilities\.bounding: unknown capability \\?"CAP_BERTH_NOPE/);
      expect(existsSync(join(s.root, cid))).toBe(false);
    } else {
      expect(r.status).toBe(0);
    }
  });

  it.skipIf(!isBerth)('exec --cap with an unknown name is an error naming it', () => {
    const cid = s.id();
    expect(s.rt(['run', '-d', '-b', s.bundle({ args: ['sleep', '30'] }), cid], { files: true }).status).toBe(0);
    const r = s.rt(['exec', '--cap', 'CAP_BERTH_NOPE', cid, 'true']);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/--cap: unknown capability \\?"CAP_BERTH_NOPE/);
  });
});
