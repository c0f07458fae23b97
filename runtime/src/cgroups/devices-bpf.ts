// cgroup v2 has no devices.allow/deny files: device access is decided by an eBPF
// program of type BPF_PROG_TYPE_CGROUP_DEVICE attached to the cgroup directory
// (kernel Documentation/admin-guide/cgroup-v2.rst, "Device controller"). This file
// compiles linux.resources.devices into that program's instructions and loads and
// attaches it with bpf(2).
//
// Semantics are v1's, so one config behaves alike on both: the rules apply in
// order and a later rule overrides an earlier one for what it matches; a rule for
// every device (`a *:* rwm`) resets the state. The program therefore tests the
// rules from the last to the first and answers with the first that matches; when
// none matches the answer is v1's starting state, allow (a config that starts
// with "deny all", as every runtime's does, never gets there).
import type { LinuxDeviceCgroup } from 'oci-spec-types';
import { CgroupError } from './types.js';

export const BPF_PROG_TYPE_CGROUP_DEVICE = 15;
export const BPF_CGROUP_DEVICE = 6;
const BPF_PROG_LOAD = 5;
const BPF_PROG_ATTACH = 8;
const BPF_PROG_DETACH = 9;
const BPF_PROG_GET_FD_BY_ID = 13;
const BPF_PROG_QUERY = 16;
const BPF_F_ALLOW_MULTI = 2;

// bpf_cgroup_dev_ctx: u32 access_type (access << 16 | type), u32 major, u32 minor.
const DEV_BLOCK = 1;
const DEV_CHAR = 2;
const ACC_MKNOD = 1;
const ACC_READ = 2;
const ACC_WRITE = 4;

// Opcodes (include/uapi/linux/bpf.h, bpf_common.h).
const LDX_MEM_W = 0x61;
const ALU32_AND_K = 0x54;
const ALU32_RSH_K = 0x74;
const ALU32_MOV_X = 0xbc;
const ALU64_MOV_K = 0xb7;
const JMP_JNE_K = 0x55;
const JMP_JEQ_K = 0x15;
const EXIT = 0x95;

export interface Insn {
  code: number;
  dst: number;
  src: number;
  off: number;
  imm: number;
}

const insn = (code: number, dst: number, src: number, off: number, imm: number): Insn => ({ code, dst, src, off, imm });

function accessBits(access: string | undefined, what: string): number {
  let bits = 0;
  for (const ch of access || 'rwm') {
    if (ch === 'r') bits |= ACC_READ;
    else if (ch === 'w') bits |= ACC_WRITE;
    else if (ch === 'm') bits |= ACC_MKNOD;
    else throw new CgroupError('InvalidArgument', `${what}.access: invalid access ${JSON.stringify(access)} (expected letters of "rwm")`);
  }
  return bits;
}

/** The program's instructions for `rules` (exported for unit tests). */
export function compileDeviceFilter(rules: LinuxDeviceCgroup[]): Insn[] {
  // Prologue: r2 = type, r3 = access, r4 = major, r5 = minor (r1 is the context).
  const out: Insn[] = [
    insn(LDX_MEM_W, 2, 1, 0, 0),
    insn(ALU32_AND_K, 2, 0, 0, 0xffff),
    insn(LDX_MEM_W, 3, 1, 0, 0),
    insn(ALU32_RSH_K, 3, 0, 0, 16),
    insn(LDX_MEM_W, 4, 1, 4, 0),
    insn(LDX_MEM_W, 5, 1, 8, 0),
  ];
  for (let i = rules.length - 1; i >= 0; i--) {
    const r = rules[i]!;
    const what = `linux.resources.devices[${i}]`;
    const type = r.type ?? 'a';
    if (type !== 'a' && type !== 'b' && type !== 'c') throw new CgroupError('InvalidArgument', `${what}.type: invalid device type ${JSON.stringify(type)}`);
    const bits = accessBits(r.access, what);
    // Each test jumps past the rest of this rule's block when it does not match.
    const tests: Insn[][] = [];
    if (type !== 'a') tests.push([insn(JMP_JNE_K, 2, 0, 0, type === 'b' ? DEV_BLOCK : DEV_CHAR)]);
    if (bits !== (ACC_READ | ACC_WRITE | ACC_MKNOD)) {
      // An allow rule grants a request all of whose accesses it lists; a deny rule
      // refuses a request that asks for any access it lists (v1 removes those
      // accesses from the exception). Two allow rules for one device with
      // different accesses are not merged as v1 would for a request needing both.
      tests.push(
        r.allow
          ? [insn(ALU32_MOV_X, 1, 3, 0, 0), insn(ALU32_AND_K, 1, 0, 0, ~bits & 7), insn(JMP_JNE_K, 1, 0, 0, 0)]
          : [insn(ALU32_MOV_X, 1, 3, 0, 0), insn(ALU32_AND_K, 1, 0, 0, bits), insn(JMP_JEQ_K, 1, 0, 0, 0)],
      );
    }
    if (r.major !== undefined && r.major !== null && r.major >= 0) tests.push([insn(JMP_JNE_K, 4, 0, 0, r.major)]);
    if (r.minor !== undefined && r.minor !== null && r.minor >= 0) tests.push([insn(JMP_JNE_K, 5, 0, 0, r.minor)]);
    const verdict = [insn(ALU64_MOV_K, 0, 0, 0, r.allow ? 1 : 0), insn(EXIT, 0, 0, 0, 0)];
    const block = [...tests.flat(), ...verdict];
    // Patch the jumps: offset = instructions left in the block after the jump.
    block.forEach((ins, k) => {
      if (ins.code === JMP_JNE_K || ins.code === JMP_JEQ_K) ins.off = block.length - k - 1;
    });
    out.push(...block);
    // A rule for every device with every access decides everything before it.
    if (tests.length === 0) return out;
  }
  out.push(insn(ALU64_MOV_K, 0, 0, 0, 1), insn(EXIT, 0, 0, 0, 0));
  return out;
}

export function encode(insns: Insn[]): Buffer {
  const buf = Buffer.alloc(insns.length * 8);
  insns.forEach((ins, i) => {
    buf.writeUInt8(ins.code, i * 8);
    buf.writeUInt8((ins.src << 4) | (ins.dst & 0xf), i * 8 + 1);
    buf.writeInt16LE(ins.off, i * 8 + 2);
    buf.writeInt32LE(ins.imm | 0, i * 8 + 4);
  });
  return buf;
}

/** What loading needs from the kernel (sys/cgroup-native.ts), plus buffer addresses. */
export interface BpfNative {
  bpf(cmd: number, attr: Buffer): number;
  close(fd: number): void;
  address(buf: Buffer): bigint;
  openDir(path: string): number;
}

function loadProgram(native: BpfNative, code: Buffer): number {
  const license = Buffer.from('Apache\0');
  const attr = (log?: Buffer) => {
    const a = Buffer.alloc(128);
    a.writeUInt32LE(BPF_PROG_TYPE_CGROUP_DEVICE, 0);
    a.writeUInt32LE(code.length / 8, 4);
    a.writeBigUInt64LE(native.address(code), 8);
    a.writeBigUInt64LE(native.address(license), 16);
    if (log) {
      a.writeUInt32LE(1, 24);
      a.writeUInt32LE(log.length, 28);
      a.writeBigUInt64LE(native.address(log), 32);
    }
    a.write('berth_devices', 48);
    a.writeUInt32LE(BPF_CGROUP_DEVICE, 68);
    return a;
  };
  try {
    return native.bpf(BPF_PROG_LOAD, attr());
  } catch (e) {
    // Ask the verifier why, for the error message.
    const log = Buffer.alloc(1 << 16);
    try {
      return native.bpf(BPF_PROG_LOAD, attr(log));
    } catch {
      const text = log.toString('utf8', 0, Math.max(0, log.indexOf(0))).trim();
      throw new CgroupError('Internal', `cannot load the cgroup v2 device program: ${(e as Error).message}${text ? `; verifier: ${text.slice(-400)}` : ''}`);
    }
  }
}

/** Ids of the device programs attached to the cgroup open at `dirFd`. */
function attachedPrograms(native: BpfNative, dirFd: number): number[] {
  const ids = Buffer.alloc(4 * 64);
  const a = Buffer.alloc(40);
  a.writeUInt32LE(dirFd, 0);
  a.writeUInt32LE(BPF_CGROUP_DEVICE, 4);
  a.writeBigUInt64LE(native.address(ids), 16);
  a.writeUInt32LE(64, 24);
  try {
    native.bpf(BPF_PROG_QUERY, a);
  } catch {
    return [];
  }
  const n = a.readUInt32LE(24);
  return Array.from({ length: n }, (_, i) => ids.readUInt32LE(i * 4));
}

/**
 * Loads the program for `rules` and attaches it to the cgroup at `dir`, then
 * detaches the programs that were there before (an update replaces the rules).
 */
export function attachDeviceFilter(native: BpfNative, dir: string, rules: LinuxDeviceCgroup[]): void {
  const code = encode(compileDeviceFilter(rules));
  const dirFd = native.openDir(dir);
  try {
    const before = attachedPrograms(native, dirFd);
    const prog = loadProgram(native, code);
    try {
      const a = Buffer.alloc(32);
      a.writeUInt32LE(dirFd, 0);
      a.writeUInt32LE(prog, 4);
      a.writeUInt32LE(BPF_CGROUP_DEVICE, 8);
      a.writeUInt32LE(BPF_F_ALLOW_MULTI, 12);
      try {
        native.bpf(BPF_PROG_ATTACH, a);
      } catch (e) {
        throw new CgroupError('Internal', `cannot attach the device program to ${dir}: ${(e as Error).message}`, dir);
      }
    } finally {
      native.close(prog);
    }
    for (const id of before) {
      const g = Buffer.alloc(16);
      g.writeUInt32LE(id, 0);
      let old: number;
      try {
        old = native.bpf(BPF_PROG_GET_FD_BY_ID, g);
      } catch {
        continue;
      }
      try {
        const d = Buffer.alloc(32);
        d.writeUInt32LE(dirFd, 0);
        d.writeUInt32LE(old, 4);
        d.writeUInt32LE(BPF_CGROUP_DEVICE, 8);
        native.bpf(BPF_PROG_DETACH, d);
      } finally {
        native.close(old);
      }
    }
  } finally {
    native.close(dirFd);
  }
}

export type DeviceFilter = (dir: string, rules: LinuxDeviceCgroup[]) => void;
