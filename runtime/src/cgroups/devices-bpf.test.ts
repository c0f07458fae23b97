import { describe, expect, it } from 'vitest';
import { attachDeviceFilter, type BpfNative, compileDeviceFilter, encode, type Insn } from './devices-bpf.js';
import { CgroupError } from './types.js';

/** A tiny interpreter of the instructions compileDeviceFilter emits, to check verdicts without a kernel. */
function run(prog: Insn[], type: 'b' | 'c', access: string, major: number, minor: number): number {
  const acc = (access.includes('m') ? 1 : 0) | (access.includes('r') ? 2 : 0) | (access.includes('w') ? 4 : 0);
  const ctx = [((acc << 16) | (type === 'b' ? 1 : 2)) >>> 0, major, minor];
  const reg = [0, 0, 0, 0, 0, 0];
  for (let pc = 0; pc < prog.length; pc++) {
    const i = prog[pc]!;
    switch (i.code) {
      case 0x61: reg[i.dst] = ctx[i.off / 4]!; break;
      case 0x54: reg[i.dst] = (reg[i.dst]! & i.imm) >>> 0; break;
      case 0x74: reg[i.dst] = reg[i.dst]! >>> i.imm; break;
      case 0xbc: reg[i.dst] = reg[i.src]!; break;
      case 0xb7: reg[i.dst] = i.imm; break;
      case 0x55: if (reg[i.dst] !== i.imm) pc += i.off; break;
      case 0x15: if (reg[i.dst] === i.imm) pc += i.off; break;
      case 0x95: return reg[0]!;
      default: throw new Error(`unknown opcode ${i.code}`);
    }
  }
  throw new Error('fell off the end');
}

describe('cgroup v2 device program', () => {
  const rules = [
    { allow: false, access: 'rwm' },
    { allow: true, type: 'c', major: null, minor: null, access: 'm' },
    { allow: true, type: 'c', major: 1, minor: 3, access: 'rwm' },
    { allow: true, type: 'c', major: 1, minor: 5, access: 'r' },
    { allow: true, type: 'c', major: 136, minor: null, access: 'rw' },
    { allow: true, type: 'b', major: 8, minor: 0, access: 'rw' },
    { allow: false, type: 'b', major: 8, minor: 0, access: 'w' },
  ];
  const prog = compileDeviceFilter(rules);

  it('answers like the v1 devices cgroup: later rules win, deny-all first', () => {
    expect(run(prog, 'c', 'rw', 1, 3)).toBe(1);
    expect(run(prog, 'c', 'r', 1, 5)).toBe(1);
    expect(run(prog, 'c', 'w', 1, 5)).toBe(0);
    expect(run(prog, 'c', 'rw', 1, 5)).toBe(0);
    expect(run(prog, 'c', 'rw', 136, 7)).toBe(1);
    expect(run(prog, 'c', 'm', 42, 42)).toBe(1);
    expect(run(prog, 'c', 'r', 42, 42)).toBe(0);
    expect(run(prog, 'b', 'm', 8, 0)).toBe(0);
    expect(run(prog, 'b', 'r', 8, 0)).toBe(1);
    // The later deny of "w" removes writing, also from a read-write open.
    expect(run(prog, 'b', 'w', 8, 0)).toBe(0);
    expect(run(prog, 'b', 'rw', 8, 0)).toBe(0);
  });

  it('stops at a rule for every device and defaults to v1’s allow without one', () => {
    const allowAll = compileDeviceFilter([{ allow: false, type: 'c', major: 1, minor: 3, access: 'rwm' }, { allow: true, access: 'rwm' }]);
    // The allow-all rule is last, so it decides everything and the deny before it is unreachable.
    expect(allowAll).toHaveLength(6 + 2);
    expect(run(allowAll, 'c', 'rw', 1, 3)).toBe(1);
    const onlyDeny = compileDeviceFilter([{ allow: false, type: 'c', major: 1, minor: 3, access: 'rwm' }]);
    expect(run(onlyDeny, 'c', 'r', 1, 3)).toBe(0);
    expect(run(onlyDeny, 'c', 'r', 1, 5)).toBe(1);
  });

  it('encodes 8-byte instructions with dst in the low nibble', () => {
    const buf = encode([{ code: 0x61, dst: 2, src: 1, off: 4, imm: -1 }]);
    expect([...buf]).toEqual([0x61, 0x12, 4, 0, 0xff, 0xff, 0xff, 0xff]);
  });

  it('refuses a bad type or access naming the rule', () => {
    expect(() => compileDeviceFilter([{ allow: true, type: 'x', access: 'r' }])).toThrow(/devices\[0\]\.type/);
    expect(() => compileDeviceFilter([{ allow: true, access: 'rq' }])).toThrow(CgroupError);
  });

  it('loads, attaches with BPF_F_ALLOW_MULTI, then detaches the programs that were there', () => {
    const calls: string[] = [];
    const native: BpfNative = {
      address: () => 0x1000n,
      openDir: (p) => {
        calls.push(`open ${p}`);
        return 30;
      },
      close: (fd) => void calls.push(`close ${fd}`),
      bpf: (cmd, attr) => {
        calls.push(`bpf ${cmd}`);
        if (cmd === 16) {
          attr.writeUInt32LE(1, 24); // one program attached already
          return 0;
        }
        if (cmd === 8) expect([attr.readUInt32LE(0), attr.readUInt32LE(4), attr.readUInt32LE(8), attr.readUInt32LE(12)]).toEqual([30, 40, 6, 2]);
        if (cmd === 5) expect(attr.readUInt32LE(0)).toBe(15);
        return cmd === 5 ? 40 : cmd === 13 ? 41 : 0;
      },
    };
    attachDeviceFilter(native, '/sys/fs/cgroup/c1', [{ allow: false, access: 'rwm' }]);
    expect(calls).toEqual(['open /sys/fs/cgroup/c1', 'bpf 16', 'bpf 5', 'bpf 8', 'close 40', 'bpf 13', 'bpf 9', 'close 41', 'close 30']);
  });
});
