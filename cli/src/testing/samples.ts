// Engine API answers shaped as moby's swagger.yaml describes them, shared by the
// unit tests and the docker-CLI comparison.
const now = Math.floor(Date.now() / 1000);

export const containers = [
  {
    Id: '8dfafdbc3a40a4b1c8e5b9f1d7c6e2a3b4c5d6e7f8091a2b3c4d5e6f708192a3',
    Names: ['/cli-web'],
    Image: 'busybox',
    ImageID: 'sha256:3f57d9401f8d42f986df300f0c69192fc41da28ccc8d797829467780db3dd741',
    Command: 'httpd -f -p 8080 -h /www',
    Created: now - 150,
    Ports: [
      { IP: '0.0.0.0', PrivatePort: 8080, PublicPort: 18080, Type: 'tcp' },
      { IP: '::', PrivatePort: 8080, PublicPort: 18080, Type: 'tcp' },
      { PrivatePort: 53, Type: 'udp' },
    ],
    Labels: { 'com.example.tier': 'web', owner: 'cli' },
    State: 'running',
    Status: 'Up 2 minutes',
    HostConfig: { NetworkMode: 'bridge' },
    NetworkSettings: { Networks: { bridge: { IPAddress: '172.17.0.2', NetworkID: 'abc' } } },
    Mounts: [{ Type: 'volume', Name: 'cli-data', Source: '/var/lib/berth/volumes/cli-data/_data', Destination: '/data', Driver: 'local', Mode: '', RW: true, Propagation: '' }],
  },
  {
    Id: '1b2c3d4e5f60718293a4b5c6d7e8f90112233445566778899aabbccddeeff0011',
    Names: ['/cli-job'],
    Image: 'docker.io/library/busybox:latest',
    ImageID: 'sha256:3f57d9401f8d42f986df300f0c69192fc41da28ccc8d797829467780db3dd741',
    Command: 'sh -c \'echo a very long command line that is truncated\'',
    Created: now - 3 * 86400,
    Ports: [],
    Labels: {},
    State: 'exited',
    Status: 'Exited (0) 3 days ago',
    HostConfig: { NetworkMode: 'none' },
    NetworkSettings: { Networks: { none: { IPAddress: '', NetworkID: 'def' } } },
    Mounts: [],
  },
];

export const images = [
  {
    Id: 'sha256:3f57d9401f8d42f986df300f0c69192fc41da28ccc8d797829467780db3dd741',
    ParentId: '',
    RepoTags: ['busybox:latest', 'cli-test/busybox:v1'],
    RepoDigests: ['busybox@sha256:9ae97d36d26566ff84e8893c64a6dc4fe8ca6d1144bf5b87b2b85a32def253c7'],
    Created: now - 40 * 86400,
    Size: 4261550,
    SharedSize: -1,
    VirtualSize: 4261550,
    Labels: null,
    Containers: 2,
  },
  {
    Id: 'sha256:aa11bb22cc33dd44ee55ff6677889900aabbccddeeff00112233445566778899',
    ParentId: '',
    RepoTags: [],
    RepoDigests: ['cli-test/dangling@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef'],
    Created: now - 7200,
    Size: 128000,
    SharedSize: -1,
    Labels: { a: 'b' },
    Containers: -1,
  },
];

export const volumes = {
  Volumes: [
    { Name: 'cli-data', Driver: 'local', Mountpoint: '/var/lib/berth/volumes/cli-data/_data', Labels: {}, Scope: 'local', Options: {}, CreatedAt: '2026-01-02T03:04:05Z' },
    { Name: '4b7a0f4d9bd2b3d8a1c2e3f4a5b6c7d8e9f0a1b2c3d4e5f6a7b8c9d0e1f2a3b4', Driver: 'local', Mountpoint: '/x', Labels: { x: 'y' }, Scope: 'local', Options: null, CreatedAt: '2026-01-02T03:04:05Z' },
  ],
  Warnings: [],
};

export const networks = [
  { Name: 'bridge', Id: 'f2de39df4171b0dc801e8002d1d999b77256983dfc63041c0f34030aa3977566', Created: '2026-01-01T00:00:00Z', Scope: 'local', Driver: 'bridge', EnableIPv6: false, Internal: false, Attachable: false, Ingress: false, IPAM: { Driver: 'default', Config: [{ Subnet: '172.17.0.0/16', Gateway: '172.17.0.1' }] }, Options: {}, Labels: {}, Containers: {} },
  { Name: 'none', Id: 'e086a3893b05ab69242d3c44e49483a3bbbd3a26b46baa8f61ab797c1088d794', Created: '2026-01-01T00:00:00Z', Scope: 'local', Driver: 'null', EnableIPv6: false, Internal: false, Attachable: false, Ingress: false, IPAM: { Driver: 'default', Config: [] }, Options: {}, Labels: {}, Containers: {} },
  { Name: 'cli-net', Id: '7c5b3a1f9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b3a2f1e0d9c8b7a6f5e4d3c2b', Created: '2026-01-01T00:00:00Z', Scope: 'local', Driver: 'bridge', EnableIPv6: true, Internal: true, Attachable: false, Ingress: false, IPAM: { Driver: 'default', Config: [] }, Options: {}, Labels: { team: 'cli' }, Containers: {} },
];
