// The shim protocol (shim.proto): protobufjs messages in length-prefixed frames.
// Kept apart from index.ts so the shim never loads @grpc/grpc-js.
import protobuf from 'protobufjs';
import shimText from '../shim.proto?raw';

export interface ShimFrame {
  kind: 'REQUEST' | 'RESPONSE' | 'EVENT';
  id: number;
  method?: string;
  payload?: Uint8Array;
  error_kind?: string;
  error?: string;
  event?: { topic: string; event: string; timestamp: string };
}

export interface ShimCodec {
  encodeFrame(frame: ShimFrame): Buffer;
  /** Feeds received bytes; calls `onFrame` for each complete frame. */
  decoder(onFrame: (frame: ShimFrame) => void): (chunk: Buffer) => void;
  encode(type: string, message: object): Uint8Array;
  decode<T = any>(type: string, data: Uint8Array | undefined): T;
}

const MAX_FRAME = 16 << 20;

let codec: ShimCodec | undefined;

export function shimCodec(): ShimCodec {
  if (codec) return codec;
  const root = protobuf.parse(shimText, new protobuf.Root(), { keepCase: true }).root;
  const types = new Map<string, protobuf.Type>();
  const type = (name: string): protobuf.Type => {
    let t = types.get(name);
    if (!t) {
      t = root.lookupType(`berth.shim.v1.${name}`);
      types.set(name, t);
    }
    return t;
  };
  const Frame = type('Frame');
  const toObject = (t: protobuf.Type, m: protobuf.Message) =>
    t.toObject(m, { enums: String, longs: Number, defaults: true, arrays: true, objects: true });
  codec = {
    encodeFrame(frame) {
      const body = Frame.encode(Frame.fromObject(frame)).finish();
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
          onFrame(toObject(Frame, Frame.decode(body)) as ShimFrame);
        }
      };
    },
    encode(name, message) {
      const t = type(name);
      return t.encode(t.fromObject(message)).finish();
    },
    decode(name, data) {
      const t = type(name);
      return toObject(t, t.decode(data ?? new Uint8Array())) as any;
    },
  };
  return codec;
}
