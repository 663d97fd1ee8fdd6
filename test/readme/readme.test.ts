import { DEFAULTS } from '../../src/config/defaults.js';
import { errorCodes } from '../../src/index.js';
import { readmeSection } from '../helpers/readme.js';

const section = readmeSection;

it("lists every error code with its status in the README's error table, and no other", () => {
  const rows = [...section('## Errors').matchAll(/^\| (\d{3}) \| `([a-z_]+)` \|/gm)].map(([, status, code]) => [code, Number(status)]);
  expect(Object.fromEntries(rows)).toEqual(errorCodes);
  expect(rows).toHaveLength(Object.keys(errorCodes).length);
});

describe("the README's options tables", () => {
  /** Every `| \`option\` | \`default\` |` row of a section's tables, with the option under `prefix`. */
  function tableDefaults(heading: string, prefix: string): [string, string][] {
    return [...section(heading).matchAll(/^\| `([\w.]+)` \| ([^|]*) \|/gm)].map(([, option, cell]) => [prefix + option, cell!.trim()]);
  }
  const rows = [
    ...tableDefaults('### `createAuth(options)`', ''),
    ...tableDefaults('### Access-token options (`accessToken`)', 'accessToken.'),
    ...tableDefaults('### `auth.requireAccessToken(options)`', 'requireAccessToken.'),
    ...tableDefaults('### `requireAccessToken(options)`, standalone', ''),
  ];

  /** A default that depends on the transport, `{ cookie, body }`, is one option. */
  const byTransport = (value: object) => Object.keys(value).join() === 'cookie,body';
  function leaves(value: object, prefix = ''): [string, unknown][] {
    return Object.entries(value).flatMap(([name, inner]) =>
      inner && typeof inner === 'object' && !Array.isArray(inner) && !byTransport(inner)
        ? leaves(inner, `${prefix}${name}.`)
        : [[`${prefix}${name}`, inner] as [string, unknown]],
    );
  }
  const defaults = new Map(leaves(DEFAULTS));

  it('state every default that a literal value can show as the code has it', () => {
    const literal = /^`(.+)`$/;
    const stated = rows.filter(([, cell]) => literal.test(cell) && !['`Date.now`', '`{}`'].includes(cell));
    expect(stated.length).toBeGreaterThan(15);
    for (const [option, cell] of stated) {
      const code = literal.exec(cell)![1]!.replace(/'/g, '"');
      expect({ option, value: JSON.parse(code) }).toEqual({ option, value: defaults.get(option) });
    }
  });

  it('state the defaults that depend on the transport', () => {
    const grace = DEFAULTS.refreshToken.reuseGraceSeconds;
    expect(rows).toContainEqual([
      'refreshToken.reuseGraceSeconds',
      `\`${grace.cookie}\` with cookie transport, \`${grace.body}\` with body transport`,
    ]);
  });

  it('have a row for every default of the options of createAuth and requireAccessToken', () => {
    const documented = new Set(rows.map(([option]) => option));
    const groups = [
      'accessToken.',
      'refreshToken.',
      'requireAccessToken.',
      'trustedOrigins',
      'loginThrottle.',
      'storeTimeoutMs',
      'bodyLimitBytes',
    ];
    const missing = [...defaults.keys()].filter((option) => groups.some((group) => option.startsWith(group)) && !documented.has(option));
    expect(missing).toEqual([]);
  });

  it('state the defaults of the password helpers and the stores', () => {
    expect(section('### Passwords')).toContain(`hashPassword(plain, { cost = ${DEFAULTS.passwords.cost} })`);
    expect(section('### `MemoryTokenStore`')).toContain(`sweepIntervalMs = ${DEFAULTS.memoryStore.sweepIntervalMs}`);
    expect(section('### `RedisTokenStore`')).toContain(`keyPrefix defaults to '${DEFAULTS.redisStore.keyPrefix}'`);
    expect(section('### `PostgresTokenStore`')).toContain(`tableName defaults to '${DEFAULTS.postgresStore.tableName}'`);
  });
});
