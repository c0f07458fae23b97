// Placeholder: filled in by the images work.
export async function main(_argv: string[], _g: { address: string; namespace: string }): Promise<number> {
  process.stderr.write('berth ctr: not available yet\n');
  return 1;
}
