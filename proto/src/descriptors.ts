// The protobufjs JSON descriptors of berth's .proto files. Run from sources (tests),
// this module parses the .proto text; a bundled binary gets this module replaced at
// build time by the parsed JSON (proto/build/descriptors-plugin.mjs), so no binary
// parses .proto text at start.
import protobuf from 'protobufjs';
import imagesText from '../images.proto?raw';
import shimText from '../shim.proto?raw';
import shimdText from '../shimd.proto?raw';

export type DescriptorName = 'shimd' | 'images' | 'shim';

// images.proto builds on shimd.proto's shared messages, so shimd.proto always goes first.
const sources: Record<DescriptorName, { file: string; text: string }[]> = {
  shimd: [{ file: 'shimd.proto', text: shimdText }],
  images: [
    { file: 'shimd.proto', text: shimdText },
    { file: 'images.proto', text: imagesText },
  ],
  shim: [{ file: 'shim.proto', text: shimText }],
};

export const descriptorNames = Object.keys(sources) as DescriptorName[];

/** The JSON descriptor (protobufjs `Root#toJSON`) of one API, with the files it imports. */
export function descriptor(name: DescriptorName): protobuf.INamespace {
  const root = new protobuf.Root();
  for (const { file, text } of sources[name]) {
    const parsed = protobuf.parse(text, root, { keepCase: true });
    for (const imp of [...(parsed.imports ?? []), ...(parsed.weakImports ?? [])]) {
      const m = /^google\/protobuf\/(.+)\.proto$/.exec(imp);
      if (!m) continue; // our own files are parsed in dependency order above
      const common = protobuf.common.get(imp) ?? protobuf.common.get(m[1]!);
      if (!common) throw new Error(`${file}: unsupported import ${imp}`);
      if (!root.lookup(`google.protobuf.${m[1]}`)) root.addJSON(common.nested as any);
    }
  }
  root.resolveAll();
  return root.toJSON({ keepComments: false });
}
