// The shim protocol (shim.proto): protobuf messages in length-prefixed frames.
// Encoded and decoded by hand from the small table below rather than by protobufjs:
// loading protobufjs costs an idle berth-shim ~3.3 MB (of ~12 MB), and these dozen
// messages of strings, uint32s, bools and maps need none of its generality. The
// table must match shim.proto; shimd/src/shim/codec.test.ts checks it against
// protobufjs reading the .proto itself, both ways.
// Messages in JS look as protobufjs's toObject({ enums: String, longs: Number,
// defaults: true, arrays: true, objects: true }) makes them: every field present,
// unset messages null, enums by name.

export interface ShimFrame {
  kind: 'REQUEST' | 'RESPONSE' | 'EVENT';
  id: number;
  method?: string;
  payload?: Uint8Array;
  error_kind?: string;
  error?: string;
  event?: { topic: string; event: string; timestamp: string } | null;
}

export interface ShimCodec {
  encodeFrame(frame: ShimFrame): Buffer;
  /** Feeds received bytes; calls `onFrame` for each complete frame. */
  decoder(onFrame: (frame: ShimFrame) => void): (chunk: Buffer) => void;
  encode(type: string, message: object): Uint8Array;
  decode<T = any>(type: string, data: Uint8Array | undefined): T;
}

const MAX_FRAME = 16 << 20;

type FieldType = 'string' | 'uint32' | 'bool' | 'bytes' | 'Kind' | 'map' | { message: string; repeated?: boolean };
type Field = [name: string, number: number, type: FieldType];

const KIND = ['REQUEST', 'RESPONSE', 'EVENT'];

/** shim.proto's messages: field name, number and type. */
export const SHIM_MESSAGES: Record<string, Field[]> = {
  Frame: [
    ['kind', 1, 'Kind'],
    ['id', 2, 'uint32'],
    ['method', 3, 'string'],
    ['payload', 4, 'bytes'],
    ['error_kind', 5, 'string'],
    ['error', 6, 'string'],
    ['event', 7, { message: 'Event' }],
  ],
  Event: [
    ['topic', 1, 'string'],
    ['event', 2, 'string'],
    ['timestamp', 3, 'string'],
  ],
  Empty: [],
  Stdio: [
    ['stdin', 1, 'string'],
    ['stdout', 2, 'string'],
    ['stderr', 3, 'string'],
    ['terminal', 4, 'bool'],
  ],
  CreateRequest: [
    ['bundle', 1, 'string'],
    ['stdio', 2, { message: 'Stdio' }],
    ['log_path', 3, 'string'],
    ['log_format', 4, 'string'],
    ['log_options', 5, 'map'],
  ],
  ProcessRef: [['exec_id', 1, 'string']],
  ExecRequest: [
    ['exec_id', 1, 'string'],
    ['stdio', 2, { message: 'Stdio' }],
    ['spec', 3, 'string'],
  ],
  KillRequest: [
    ['exec_id', 1, 'string'],
    ['signal', 2, 'uint32'],
    ['all', 3, 'bool'],
  ],
  ResizeRequest: [
    ['exec_id', 1, 'string'],
    ['width', 2, 'uint32'],
    ['height', 3, 'uint32'],
  ],
  UpdateRequest: [['resources', 1, 'string']],
  ProcessState: [
    ['exec_id', 1, 'string'],
    ['pid', 2, 'uint32'],
    ['status', 3, 'string'],
    ['exit_status', 4, 'uint32'],
    ['exited_at', 5, 'string'],
    ['stdio', 6, { message: 'Stdio' }],
  ],
  ProcessList: [['processes', 1, { message: 'ProcessState', repeated: true }]],
  PidInfo: [
    ['pid', 1, 'uint32'],
    ['exec_id', 2, 'string'],
  ],
  PidList: [['pids', 1, { message: 'PidInfo', repeated: true }]],
};

function fields(type: string): Field[] {
  const f = SHIM_MESSAGES[type];
  if (!f) throw new Error(`no shim message ${type}`);
  return f;
}

// ---------------------------------------------------------------- writing

class Writer {
  private chunks: Uint8Array[] = [];
  private scratch: number[] = [];
  length = 0;

  /** An unsigned 32-bit varint (wrapping like protobufjs's uint32). */
  varint(v: number): void {
    let n = v >>> 0;
    while (n > 0x7f) {
      this.scratch.push((n & 0x7f) | 0x80);
      n >>>= 7;
    }
    this.scratch.push(n);
  }

  private flush(): void {
    if (this.scratch.length) {
      this.chunks.push(Uint8Array.from(this.scratch));
      this.length += this.scratch.length;
      this.scratch = [];
    }
  }

  bytes(b: Uint8Array): void {
    this.varint(b.length);
    this.flush();
    this.chunks.push(b);
    this.length += b.length;
  }

  finish(): Uint8Array {
    this.flush();
    return Buffer.concat(this.chunks, this.length);
  }
}

const tag = (w: Writer, no: number, wireType: number) => w.varint(no * 8 + wireType);

function encodeMessage(type: string, m: Record<string, any>): Uint8Array {
  const w = new Writer();
  for (const [name, no, ft] of fields(type)) {
    const v = m?.[name];
    if (v === undefined || v === null) continue;
    if (ft === 'string') {
      if (v === '') continue;
      tag(w, no, 2);
      w.bytes(Buffer.from(String(v), 'utf8'));
    } else if (ft === 'uint32') {
      if (!v) continue;
      tag(w, no, 0);
      w.varint(Number(v));
    } else if (ft === 'bool') {
      if (!v) continue;
      tag(w, no, 0);
      w.varint(1);
    } else if (ft === 'bytes') {
      if (!v.length) continue;
      tag(w, no, 2);
      w.bytes(v);
    } else if (ft === 'Kind') {
      const n = typeof v === 'number' ? v : KIND.indexOf(v);
      if (n < 0) throw new Error(`${type}.${name}: unknown kind ${v}`);
      if (!n) continue;
      tag(w, no, 0);
      w.varint(n);
    } else if (ft === 'map') {
      for (const [k, val] of Object.entries(v as Record<string, unknown>)) {
        const entry = new Writer();
        if (k !== '') {
          tag(entry, 1, 2);
          entry.bytes(Buffer.from(k, 'utf8'));
        }
        if (val !== '' && val != null) {
          tag(entry, 2, 2);
          entry.bytes(Buffer.from(String(val), 'utf8'));
        }
        tag(w, no, 2);
        w.bytes(entry.finish());
      }
    } else if (ft.repeated) {
      for (const item of v as object[]) {
        tag(w, no, 2);
        w.bytes(encodeMessage(ft.message, item as Record<string, any>));
      }
    } else {
      tag(w, no, 2);
      w.bytes(encodeMessage(ft.message, v));
    }
  }
  return w.finish();
}

// ---------------------------------------------------------------- reading

class Reader {
  pos = 0;
  constructor(readonly buf: Uint8Array) {}

  varint(): number {
    let result = 0;
    let mul = 1;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.buf.length) throw new Error('shim message truncated (varint)');
      const b = this.buf[this.pos++]!;
      if (mul < 2 ** 35) result += (b & 0x7f) * mul; // beyond 35 bits: uint32 wraps anyway
      if (b < 0x80) return result % 2 ** 32;
      mul *= 128;
    }
    throw new Error('shim message has a varint longer than 10 bytes');
  }

  bytes(): Uint8Array {
    const len = this.varint();
    if (this.pos + len > this.buf.length) throw new Error('shim message truncated (length-delimited field)');
    const b = this.buf.subarray(this.pos, this.pos + len);
    this.pos += len;
    return b;
  }

  skip(wireType: number): void {
    if (wireType === 0) this.varint();
    else if (wireType === 1) this.pos += 8;
    else if (wireType === 2) this.bytes();
    else if (wireType === 5) this.pos += 4;
    else throw new Error(`shim message has unsupported wire type ${wireType}`);
    if (this.pos > this.buf.length) throw new Error('shim message truncated');
  }
}

const utf8 = (b: Uint8Array) => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('utf8');

function defaults(type: string): Record<string, any> {
  const out: Record<string, any> = {};
  for (const [name, , ft] of fields(type)) {
    if (ft === 'string') out[name] = '';
    else if (ft === 'uint32') out[name] = 0;
    else if (ft === 'bool') out[name] = false;
    else if (ft === 'bytes') out[name] = Buffer.alloc(0);
    else if (ft === 'Kind') out[name] = KIND[0];
    else if (ft === 'map') out[name] = {};
    else out[name] = ft.repeated ? [] : null;
  }
  return out;
}

function decodeMessage(type: string, buf: Uint8Array): Record<string, any> {
  const byNumber = new Map(fields(type).map((f) => [f[1], f]));
  const out = defaults(type);
  const r = new Reader(buf);
  while (r.pos < buf.length) {
    const t = r.varint();
    const no = Math.floor(t / 8);
    const wireType = t & 7;
    const f = byNumber.get(no);
    const want = f ? (f[2] === 'uint32' || f[2] === 'bool' || f[2] === 'Kind' ? 0 : 2) : -1;
    if (!f || wireType !== want) {
      r.skip(wireType);
      continue;
    }
    const [name, , ft] = f;
    if (ft === 'string') out[name] = utf8(r.bytes());
    else if (ft === 'uint32') out[name] = r.varint();
    else if (ft === 'bool') out[name] = r.varint() !== 0;
    else if (ft === 'bytes') out[name] = Buffer.from(r.bytes());
    else if (ft === 'Kind') {
      const n = r.varint();
      out[name] = KIND[n] ?? n;
    } else if (ft === 'map') {
      const entry = new Reader(r.bytes());
      let k = '';
      let v = '';
      while (entry.pos < entry.buf.length) {
        const et = entry.varint();
        if (et === 10) k = utf8(entry.bytes());
        else if (et === 18) v = utf8(entry.bytes());
        else entry.skip(et & 7);
      }
      out[name][k] = v;
    } else if (ft.repeated) out[name].push(decodeMessage(ft.message, r.bytes()));
    else out[name] = decodeMessage(ft.message, r.bytes());
  }
  return out;
}

// ---------------------------------------------------------------- frames

let codec: ShimCodec | undefined;

export function shimCodec(): ShimCodec {
  codec ??= {
    encodeFrame(frame) {
      const body = encodeMessage('Frame', frame);
      const out = Buffer.allocUnsafe(4 + body.length);
      out.writeUInt32BE(body.length, 0);
      out.set(body, 4);
      return out;
    },
    decoder(onFrame) {
      let buf: Buffer = Buffer.alloc(0);
      return (chunk) => {
        buf = buf.length ? Buffer.concat([buf, chunk]) : chunk;
        while (buf.length >= 4) {
          const len = buf.readUInt32BE(0);
          if (len > MAX_FRAME) throw new Error(`shim frame of ${len} bytes exceeds ${MAX_FRAME}`);
          if (buf.length < 4 + len) break;
          const body = buf.subarray(4, 4 + len);
          buf = buf.subarray(4 + len);
          onFrame(decodeMessage('Frame', body) as ShimFrame);
        }
      };
    },
    encode: (type, message) => encodeMessage(type, message as Record<string, any>),
    decode: (type, data) => decodeMessage(type, data ?? new Uint8Array()) as any,
  };
  return codec;
}
