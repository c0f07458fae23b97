// The shim's hand-written protobuf codec (proto/src/shim.ts) against protobufjs
// reading shim.proto itself: same fields, same bytes understood both ways.
import protobuf from 'protobufjs';
import { describe, expect, it } from 'vitest';
import { descriptor } from '../../../proto/src/descriptors.js';
import { SHIM_MESSAGES, shimCodec } from '../../../proto/src/shim.js';

const root = protobuf.Root.fromJSON(descriptor('shim'));
const type = (name: string) => root.lookupType(`berth.shim.v1.${name}`);
const toObject = (name: string, bytes: Uint8Array) =>
  type(name).toObject(type(name).decode(bytes), { enums: String, longs: Number, defaults: true, arrays: true, objects: true });
const viaProtobufjs = (name: string, m: object) => type(name).encode(type(name).fromObject(m)).finish();

const samples: Record<string, object[]> = {
  Frame: [
    { kind: 'REQUEST', id: 7, method: 'Create', payload: Buffer.from([1, 2, 3]) },
    { kind: 'RESPONSE', id: 4294967295, error_kind: 'NotFound', error: 'no process “é”' },
    { kind: 'EVENT', id: 0, event: { topic: '/tasks/exit', event: '{"exit_status":137}', timestamp: '2026-11-24T03:00:00.000000001Z' } },
  ],
  Empty: [{}],
  CreateRequest: [
    { bundle: '/run/b', stdio: { stdin: '/f/in', stdout: '/f/out', stderr: '', terminal: true }, log_path: '/l', log_format: 'json-file', log_options: { 'max-size': '10k', 'max-file': '3', '': 'empty-key', k: '' } },
    { bundle: '/run/b' },
  ],
  ProcessRef: [{ exec_id: '' }, { exec_id: 'e1' }],
  ExecRequest: [{ exec_id: 'e1', stdio: { stdin: '', stdout: '/o', stderr: '/e', terminal: false }, spec: '{"args":["sh"]}' }],
  KillRequest: [{ exec_id: '', signal: 9, all: true }, { exec_id: 'x', signal: 300, all: false }],
  ResizeRequest: [{ exec_id: 'tty1', width: 101, height: 33 }],
  UpdateRequest: [{ resources: '{"memory":{"limit":1048576}}' }],
  ProcessState: [{ exec_id: '', pid: 4321, status: 'stopped', exit_status: 137, exited_at: 't', stdio: { stdin: '', stdout: '', stderr: '', terminal: false } }],
  ProcessList: [{ processes: [] }, { processes: [{ exec_id: '', pid: 1, status: 'running' }, { exec_id: 'e', pid: 2, status: 'created' }] }],
  PidList: [{ pids: [{ pid: 10, exec_id: '' }, { pid: 11, exec_id: 'e2' }] }],
};

describe('shim codec', () => {
  it('knows every message and field of shim.proto', () => {
    const names = root.lookup('berth.shim.v1') as protobuf.Namespace;
    const messages = names.nestedArray.filter((o): o is protobuf.Type => o instanceof protobuf.Type);
    expect(Object.keys(SHIM_MESSAGES).sort()).toEqual(messages.map((m) => m.name).sort());
    for (const m of messages) {
      const ours = SHIM_MESSAGES[m.name]!.map(([name, no]) => `${name}=${no}`).sort();
      expect(ours, m.name).toEqual(m.fieldsArray.map((f) => `${f.name}=${f.id}`).sort());
    }
  });

  it('encodes what protobufjs decodes, and decodes what protobufjs encodes, to the same objects', () => {
    const codec = shimCodec();
    for (const [name, list] of Object.entries(samples)) {
      for (const m of list) {
        const ours = codec.encode(name, m);
        expect(toObject(name, ours), name).toEqual(toObject(name, viaProtobufjs(name, m)));
        expect(codec.decode(name, viaProtobufjs(name, m)), name).toEqual(toObject(name, viaProtobufjs(name, m)));
        expect(codec.decode(name, ours), name).toEqual(toObject(name, ours));
      }
    }
  });

  it('frames: split and joined chunks give the frames back; oversized and truncated input fail', () => {
    const codec = shimCodec();
    const frames = samples.Frame!.map((f) => codec.encodeFrame(f as any));
    const all = Buffer.concat(frames);
    const got: unknown[] = [];
    const feed = codec.decoder((f) => got.push(f));
    for (let i = 0; i < all.length; i += 5) feed(all.subarray(i, i + 5));
    expect(got).toEqual(samples.Frame!.map((f) => toObject('Frame', viaProtobufjs('Frame', f))));
    const huge = Buffer.alloc(4);
    huge.writeUInt32BE(64 << 20, 0);
    expect(() => codec.decoder(() => {})(huge)).toThrow(/exceeds/);
    expect(() => codec.decode('ProcessRef', Uint8Array.from([10, 5, 97]))).toThrow(/truncated/);
  });
});
