// Container networking modes. `host` shares the host's namespace; `none` and (until
// the CNI bridge lands) `bridge` get a fresh network namespace.
import { invalid } from '../errors.js';
import type { ContainerRecord, HostConfig } from '../containers/model.js';
import type { NetworkHooks } from '../containers/service.js';

export class BasicNetworks implements NetworkHooks {
  validate(hc: HostConfig): undefined {
    const mode = hc.NetworkMode || 'bridge';
    if (!['bridge', 'default', 'host', 'none'].includes(mode)) {
      throw invalid(`network ${mode} not found`);
    }
    if (mode === 'host' && Object.keys(hc.PortBindings ?? {}).length) {
      // Docker accepts and ignores these with a warning; nothing to map on host networking.
      hc.PortBindings = {};
    }
    return undefined;
  }

  netns(c: ContainerRecord): 'new' | 'host' {
    return c.HostConfig.NetworkMode === 'host' ? 'host' : 'new';
  }

  async setup(_c: ContainerRecord, _pid: number): Promise<void> {}

  async teardown(_c: ContainerRecord): Promise<void> {}
}
