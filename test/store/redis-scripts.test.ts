/*
 * The Lua the Redis store sends, read as text (no Redis needed). Redis runs a script's whole text
 * on every call, shared definitions included, so each script must carry only what it uses.
 */
import { SCRIPT_LUA } from '../../src/store/redis-scripts.js';

/** Each script's Lua without its comments, which name functions too. */
const scripts = Object.entries(SCRIPT_LUA).map(([name, lua]) => [name, withoutComments(lua)] as const);

function withoutComments(lua: string): string {
  return lua.replace(/--.*$/gm, '');
}

/** The names of the `local function`s a script defines. */
function definedFunctions(lua: string): string[] {
  return [...lua.matchAll(/^local function (\w+)/gm)].map(([, name]) => name!);
}

it.each(scripts)('%s defines no Lua function it does not use', (_name, lua) => {
  const unused = definedFunctions(lua).filter((fn) => lua.match(new RegExp(`\\b${fn}\\b`, 'g'))!.length < 2);
  expect(unused).toEqual([]);
});

it('the scripts of a checked request and of a logout define no function at all', () => {
  expect(definedFunctions(SCRIPT_LUA.isAccessTokenRevoked)).toEqual([]);
  expect(definedFunctions(SCRIPT_LUA.denylistAccessToken)).toEqual([]);
});

it('rotate carries what a rotation needs, and not the session listing of createFamily', () => {
  const rotate = definedFunctions(SCRIPT_LUA.rotate);
  expect(rotate).toEqual(expect.arrayContaining(['find_family', 'get_long', 'put_long', 'extend_index', 'publish_families']));
  expect(rotate).not.toContain('live_families');
  expect(definedFunctions(SCRIPT_LUA.createFamily)).toContain('live_families');
});

it('each shared definition comes before its first use', () => {
  for (const [, lua] of scripts) {
    for (const fn of definedFunctions(lua)) {
      expect(lua.indexOf(`local function ${fn}`)).toBe(lua.search(new RegExp(`\\b${fn}\\b`)) - 'local function '.length);
    }
  }
});
