/* The login throttle's counting rules on their own (README "Password guessing"); over HTTP: test/http/login-throttle.test.ts. */
import { networkOf, normalizeUsername } from '../../src/tokens/login-throttle.js';

describe('networkOf(ip, ipv6Prefix): the network a client is counted as', () => {
  it.each([
    ['203.0.113.7', 56, '203.0.113.7'],
    ['::ffff:203.0.113.7', 56, '203.0.113.7'],
    ['::FFFF:203.0.113.7', 56, '203.0.113.7'],
    ['::ffff:cb00:7107', 56, '203.0.113.7'],
    ['0:0:0:0:0:ffff:203.0.113.7', 56, '203.0.113.7'],
    // IPv6 addresses that carry an IPv4 client: counted as that client, not as one shared /56.
    ['::ffff:0:203.0.113.7', 56, '203.0.113.7'],
    ['::203.0.113.7', 56, '203.0.113.7'],
    ['64:ff9b::203.0.113.7', 56, '203.0.113.7'],
    ['64:ff9b::198.51.100.9', 56, '198.51.100.9'],
    ['2002:cb00:7107::1', 56, '203.0.113.7'],
    ['2002:cb00:7107:ff00::1', 56, '203.0.113.7'],
    ['2001:0:4136:e378:8000:63bf:34ff:8ef8', 56, '203.0.113.7'],
    ['2001:db8:aa:11ff:ffff:ffff:ffff:ffff', 56, '2001:db8:aa:1100::/56'],
    ['2001:0DB8:00AA:1100:0000:0000:0000:0001', 56, '2001:db8:aa:1100::/56'],
    ['2001:db8:aa:11ff::1', 64, '2001:db8:aa:11ff::/64'],
    ['2001:db8:aa:11ff::1', 48, '2001:db8:aa::/48'],
    ['2001:db8:aa:11ff::1', 128, '2001:db8:aa:11ff::1/128'],
    ['2001:db8:aa:11ff::1', 60, '2001:db8:aa:11f0::/60'],
    ['fe80::1%eth0', 56, 'fe80::/56'],
    ['::1', 56, '::/56'],
    ['::1', 128, '::1/128'],
    ['1:0:0:1:0:0:0:1', 128, '1:0:0:1::1/128'],
    ['not an address', 56, 'unknown'],
    ['', 56, 'unknown'],
    [undefined, 56, 'unknown'],
  ])('counts %p with /%p as %p', (ip, prefix, network) => {
    expect(networkOf(ip, prefix)).toBe(network);
  });
});

describe('normalizeUsername', () => {
  it('folds NFKC forms, surrounding white space and letter case into one name', () => {
    const spellings = ['alice', 'Alice', 'ALICE', ' alice', 'alice\n', '\uFF41\uFF4C\uFF49\uFF43\uFF45', '\u00A0alice'];
    expect(new Set(spellings.map(normalizeUsername))).toEqual(new Set(['alice']));
  });

  it('keeps different names apart', () => {
    expect(normalizeUsername('alice')).not.toBe(normalizeUsername('alice2'));
    expect(normalizeUsername('al ice')).toBe('al ice');
  });
});
