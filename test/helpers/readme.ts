/*
 * The README's code blocks, run as written. A block is a fragment of an app: it uses names the
 * text around it introduces (`app`, `auth`, `accessToken`...). A test gives those names (the
 * scene), runs the block's text unchanged, then checks what it did over real HTTP.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import ts from 'typescript';

export interface ReadmeBlock {
  /** The nearest heading above the block, as written (`### In a browser app`). */
  heading: string;
  /** The block's place among its heading's blocks of the same language, from 0. */
  index: number;
  lang: string;
  code: string;
  /** The README line of the opening fence, for messages. */
  line: number;
}

export const README_PATH = join(__dirname, '..', '..', 'README.md');

/** The text of a README section: from `heading` (as written) to the next heading of the same level or above. */
export function readmeSection(heading: string, text = readFileSync(README_PATH, 'utf8')): string {
  const start = text.indexOf(`\n${heading}\n`);
  if (start < 0) throw new Error(`README has no heading ${heading}`);
  const level = heading.indexOf(' ');
  const rest = text.slice(start + heading.length + 2);
  const end = rest.search(new RegExp(`^#{1,${level}} `, 'm'));
  return end < 0 ? rest : rest.slice(0, end);
}

export function readmeBlocks(text = readFileSync(README_PATH, 'utf8')): ReadmeBlock[] {
  const blocks: ReadmeBlock[] = [];
  const lines = text.split('\n');
  let heading = '';
  const seen = new Map<string, number>();
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (/^#{1,6} /.test(line)) heading = line;
    const fence = /^```(\w*)$/.exec(line);
    if (!fence || !fence[1]) continue;
    const start = i;
    const body: string[] = [];
    while (++i < lines.length && lines[i] !== '```') body.push(lines[i]!);
    const key = `${heading}\u0000${fence[1]}`;
    const index = seen.get(key) ?? 0;
    seen.set(key, index + 1);
    blocks.push({ heading, index, lang: fence[1], code: body.join('\n'), line: start + 1 });
  }
  return blocks;
}

/** The one block of `lang` under `heading` (the `index`th when there are several). */
export function readmeBlock(heading: string, lang = 'js', index = 0): ReadmeBlock {
  const block = readmeBlocks().find((b) => b.heading === heading && b.lang === lang && b.index === index);
  if (!block) throw new Error(`README has no ${lang} block ${index} under ${heading}`);
  return block;
}

/**
 * Runs a block's text as the body of an async function: `import`s become `require`s of
 * `modules`, the scene's names are in scope, and the block's own top-level names listed in
 * `results` come back (the one line the harness adds after the text: `return { ... }`).
 */
export async function runBlock(
  block: ReadmeBlock,
  scene: Record<string, unknown>,
  modules: Record<string, unknown> = {},
  results: string[] = [],
): Promise<Record<string, unknown>> {
  const { outputText } = ts.transpileModule(block.code, {
    compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, esModuleInterop: true },
    reportDiagnostics: false,
  });
  const require = (id: string) => {
    if (!(id in modules)) throw new Error(`README block at line ${block.line} requires ${id}, which its test does not provide`);
    return modules[id];
  };
  const names = Object.keys(scene);
  const AsyncFunction = Object.getPrototypeOf(async () => {}).constructor as new (
    ...args: string[]
  ) => (...values: unknown[]) => Promise<unknown>;
  const body = `${outputText}\n;return { ${results.join(', ')} };`;
  const run = new AsyncFunction('require', 'exports', 'module', ...names, body);
  const module = { exports: {} };
  return (await run(require, module.exports, module, ...names.map((name) => scene[name]))) as Record<string, unknown>;
}
