// Reading a bundle: config.json through oci-spec-types' validation, plus the checks
// runc makes before it creates anything (a process to run, an existing rootfs,
// namespaces this runtime can make).
import { existsSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { type Spec, validateSpec } from 'oci-spec-types';
import { invalid, notFound } from '../errors.js';

export interface Bundle {
  dir: string;
  spec: Spec;
  rootfs: string;
}

const SUPPORTED_NAMESPACES = new Set(['pid', 'network', 'mount', 'ipc', 'uts', 'cgroup', 'user']);

export async function loadSpec(path: string, what = 'config.json'): Promise<Spec> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err: any) {
    if (err?.code === 'ENOENT') throw notFound(`JSON specification file ${what} not found`);
    throw invalid(`cannot read ${what}: ${err?.message ?? err}`);
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err: any) {
    throw invalid(`${what}: invalid JSON: ${err?.message ?? err}`);
  }
  try {
    return validateSpec(doc);
  } catch (err: any) {
    throw invalid(`${what}: ${err?.message ?? err}`);
  }
}

export async function loadBundle(dir: string): Promise<Bundle> {
  const abs = resolve(dir);
  if (!existsSync(abs)) throw notFound(`bundle ${abs} does not exist`);
  const spec = await loadSpec(join(abs, 'config.json'));
  if (!spec.process) throw invalid('config.json: process: the process to run is missing');
  if (!spec.process.args?.length) throw invalid('config.json: process.args: args must not be empty');
  if (!spec.root?.path) throw invalid('config.json: root.path: missing');
  const rootfs = isAbsolute(spec.root.path) ? spec.root.path : join(abs, spec.root.path);
  let isDir = false;
  try {
    isDir = statSync(rootfs).isDirectory();
  } catch {}
  if (!isDir) throw notFound(`rootfs (${rootfs}) does not exist`);
  // Mounts and pivot_root work on the real path (a symlinked bundle or rootfs).
  const realRootfs = realpathSync(rootfs);
  const types = new Set<string>();
  for (const [i, ns] of (spec.linux?.namespaces ?? []).entries()) {
    if (!SUPPORTED_NAMESPACES.has(ns.type)) {
      throw invalid(`config.json: linux.namespaces[${i}].type: namespace "${ns.type}" is not supported by berth-runtime yet`);
    }
    if (types.has(ns.type)) throw invalid(`config.json: linux.namespaces[${i}]: duplicate namespace "${ns.type}"`);
    types.add(ns.type);
  }
  if ((spec.linux?.maskedPaths?.length || spec.linux?.readonlyPaths?.length) && !types.has('mount')) {
    throw invalid('unable to restrict sys entries without a private MNT namespace');
  }
  if ((spec.hostname || spec.domainname) && !types.has('uts')) {
    throw invalid('unable to set hostname without a private UTS namespace');
  }
  return { dir: abs, spec, rootfs: realRootfs };
}
