import { describe, expect, it } from 'vitest';
import { applyChanges } from '../images/import.js';
import { probeCommand, settings, validateHealthcheck } from './monitor.js';

describe('healthcheck settings', () => {
  it('turns Test into a probe command; NONE and empty mean no check', () => {
    expect(probeCommand(['CMD', 'curl', '-f', 'http://x'])).toEqual(['curl', '-f', 'http://x']);
    expect(probeCommand(['CMD-SHELL', 'test -e /ready'])).toEqual(['/bin/sh', '-c', 'test -e /ready']);
    expect(probeCommand(['NONE'])).toBeUndefined();
    expect(probeCommand([])).toBeUndefined();
    expect(probeCommand(undefined)).toBeUndefined();
  });

  it('uses Docker’s defaults and converts nanoseconds', () => {
    expect(settings({})).toEqual({ interval: 30_000, timeout: 30_000, retries: 3, startPeriod: 0, startInterval: 5_000 });
    expect(settings({ Interval: 2e9, Timeout: 5e8, Retries: 5, StartPeriod: 1e10 })).toMatchObject({ interval: 2000, timeout: 500, retries: 5, startPeriod: 10_000 });
  });

  it('refuses what the API refuses', () => {
    expect(() => validateHealthcheck({ Test: ['CMD'], Interval: 1000 })).toThrow();
    expect(() => validateHealthcheck({ Test: ['CMD', 'true'], Interval: 1000 })).toThrow('Interval in Healthcheck cannot be less than 1ms');
    expect(() => validateHealthcheck({ Test: ['CMD', 'true'], Retries: -1 })).toThrow('Retries in Healthcheck cannot be negative');
    expect(() => validateHealthcheck({ Test: ['BOGUS', 'x'] })).toThrow('unknown healthcheck type');
    expect(() => validateHealthcheck({ Test: ['CMD-SHELL', 'true'], Interval: 1e9, Timeout: 1e9 })).not.toThrow();
  });
});

describe('docker import --change', () => {
  it('applies Dockerfile instructions to the image config', () => {
    expect(
      applyChanges(['CMD ["echo", "hi"]', 'ENTRYPOINT /bin/sh', 'ENV A=1 B="two words"', 'ENV C 3', 'WORKDIR /srv', 'USER nobody', 'EXPOSE 80 53/udp', 'LABEL k=v', 'STOPSIGNAL SIGINT']),
    ).toEqual({
      Cmd: ['echo', 'hi'],
      Entrypoint: ['/bin/sh', '-c', '/bin/sh'],
      Env: ['A=1', 'B=two words', 'C=3'],
      WorkingDir: '/srv',
      User: 'nobody',
      ExposedPorts: { '80/tcp': {}, '53/udp': {} },
      Labels: { k: 'v' },
      StopSignal: 'SIGINT',
    });
    expect(() => applyChanges(['RUN rm -rf /'])).toThrow('RUN is not a valid change command');
  });
});
