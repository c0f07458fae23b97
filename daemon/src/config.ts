// berthd's command line. Defaults follow DESIGN.md; every path can be moved so that
// tests run side by side.
import { parseArgs } from 'node:util';

export interface DaemonConfig {
  hosts: string[];
  dataRoot: string;
  shimdAddress: string;
  namespace: string;
  runtime: string;
  tls?: { cert: string; key: string; ca?: string; verify: boolean };
  /** `--tls=false` given explicitly: plain TCP is allowed (dockerd 27+ asks for the same). */
  insecureTcp: boolean;
  /** Empty: no CNI (bridge behaves as none). */
  cniBinDir: string;
  bridge: string;
  bridgeSubnet: string;
  liveRestore: boolean;
}

export const USAGE = `usage: berthd [options]

  -H, --host ADDR          unix:///path or tcp://HOST:PORT (TCP needs TLS) [unix:///run/berth/berthd.sock]
      --data-root DIR      daemon state [/var/lib/berth/daemon]
      --shimd-address PATH berth-shimd's socket [/run/berth/shimd.sock]
      --namespace NAME     berth-shimd namespace for berthd's containers [berth]
      --runtime NAME       runtime name reported by info [runc]
      --cni-bin-dir DIR    CNI plugins [/usr/lib/cni]; empty: no bridge networking
      --bridge NAME        the default bridge network's Linux bridge [berth0]
      --bridge-subnet CIDR its addresses [the bridge's own, else 172.17.0.0/16 or the next free /16]
      --tlsverify          require client certificates signed by --tlscacert
      --tls=false          allow tcp:// without TLS (unauthenticated root access: avoid)
      --tlscert FILE, --tlskey FILE, --tlscacert FILE
      --version            print the version
`;

export function parseConfig(argv: string[]): DaemonConfig | 'version' | 'help' {
  // Go-style `--tls=false` / `--tlsverify=false`, which parseArgs has no form for.
  let tlsOff = false;
  const args: string[] = [];
  for (const a of argv) {
    const m = /^--(tls|tlsverify)=(true|false|1|0)$/.exec(a);
    if (!m) args.push(a);
    else if (m[2] === 'false' || m[2] === '0') tlsOff = true;
    else args.push(`--${m[1]}`);
  }
  const { values } = parseArgs({
    args,
    options: {
      host: { type: 'string', short: 'H', multiple: true },
      'data-root': { type: 'string' },
      'shimd-address': { type: 'string' },
      namespace: { type: 'string' },
      runtime: { type: 'string' },
      'cni-bin-dir': { type: 'string' },
      bridge: { type: 'string' },
      'bridge-subnet': { type: 'string' },
      tlsverify: { type: 'boolean' },
      tls: { type: 'boolean' },
      tlscert: { type: 'string' },
      tlskey: { type: 'string' },
      tlscacert: { type: 'string' },
      'live-restore': { type: 'boolean' },
      version: { type: 'boolean', short: 'v' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.version) return 'version';
  if (values.help) return 'help';
  const hosts = values.host?.length ? values.host : ['unix:///run/berth/berthd.sock'];
  let tls: DaemonConfig['tls'];
  if (values.tlsverify || values.tls || values.tlscert || values.tlskey) {
    if (!values.tlscert || !values.tlskey) throw new Error('--tlscert and --tlskey are required for TLS');
    if (values.tlsverify && !values.tlscacert) throw new Error('--tlsverify needs --tlscacert');
    tls = { cert: values.tlscert, key: values.tlskey, ca: values.tlscacert, verify: !!values.tlsverify };
  }
  return {
    hosts,
    dataRoot: values['data-root'] ?? '/var/lib/berth/daemon',
    shimdAddress: values['shimd-address'] ?? '/run/berth/shimd.sock',
    namespace: values.namespace ?? 'berth',
    runtime: values.runtime ?? 'runc',
    cniBinDir: values['cni-bin-dir'] ?? '/usr/lib/cni',
    bridge: values.bridge ?? 'berth0',
    bridgeSubnet: values['bridge-subnet'] ?? '',
    liveRestore: values['live-restore'] ?? true,
    tls,
    insecureTcp: tlsOff && !tls,
  };
}
