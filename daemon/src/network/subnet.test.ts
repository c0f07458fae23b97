import { describe, expect, it } from 'vitest';
import { candidates, chooseSubnet, formatSubnet, gatewayOf, overlaps, parseSubnet } from './subnet.js';

describe('bridge subnets', () => {
  it('parses CIDRs to their network and refuses what is not one', () => {
    expect(formatSubnet(parseSubnet('172.17.5.9/16'))).toBe('172.17.0.0/16');
    expect(gatewayOf(parseSubnet('10.1.2.0/24'))).toBe('10.1.2.1');
    expect(() => parseSubnet('172.17.0.0')).toThrow(/invalid subnet "172.17.0.0"/);
    expect(() => parseSubnet('300.1.1.1/16')).toThrow(/invalid subnet/);
    expect(() => parseSubnet('10.0.0.0/31')).toThrow(/prefix 8-30/);
  });

  it('tells overlapping subnets apart', () => {
    expect(overlaps(parseSubnet('172.17.0.0/16'), parseSubnet('172.17.3.0/24'))).toBe(true);
    expect(overlaps(parseSubnet('172.16.0.0/12'), parseSubnet('172.20.0.0/16'))).toBe(true);
    expect(overlaps(parseSubnet('172.17.0.0/16'), parseSubnet('172.18.0.0/16'))).toBe(false);
  });

  it('picks 172.17.0.0/16 like docker0, else the first candidate that collides with nothing', () => {
    const none = '-no-such-bridge-';
    expect(formatSubnet(chooseSubnet(none, '', () => []))).toBe('172.17.0.0/16');
    expect(formatSubnet(chooseSubnet(none, '', () => [parseSubnet('172.17.42.0/24'), parseSubnet('172.18.0.0/16')]))).toBe('172.19.0.0/16');
    expect(formatSubnet(chooseSubnet(none, '', () => [parseSubnet('172.16.0.0/12')]))).toBe('192.168.0.0/20');
    expect(formatSubnet(chooseSubnet(none, '10.9.0.0/16', () => [parseSubnet('10.0.0.0/8')]))).toBe('10.9.0.0/16');
    expect(() => chooseSubnet(none, '', () => candidates())).toThrow(/no free subnet for bridge/);
  });
});
