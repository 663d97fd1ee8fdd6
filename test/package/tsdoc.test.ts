/* Every public export carries TSDoc (README "Architecture"): what an editor shows a user on hover. */
import { join } from 'node:path';
import ts from 'typescript';

const root = join(__dirname, '..', '..');
const entries = ['src/index.ts', 'src/postgres/index.ts', 'src/testing/index.ts', 'src/client/index.ts'].map((file) => join(root, file));

it('documents every export of every entry point', () => {
  const program = ts.createProgram(entries, {
    module: ts.ModuleKind.CommonJS,
    target: ts.ScriptTarget.ES2022,
    strict: true,
    esModuleInterop: true,
    skipLibCheck: true,
  });
  const checker = program.getTypeChecker();
  const undocumented: string[] = [];
  for (const entry of entries) {
    const module = checker.getSymbolAtLocation(program.getSourceFile(entry)!)!;
    for (const exported of checker.getExportsOfModule(module)) {
      const symbol = exported.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(exported) : exported;
      if (ts.displayPartsToString(symbol.getDocumentationComment(checker)).trim() === '')
        undocumented.push(`${entry.slice(root.length + 1)}: ${exported.name}`);
    }
  }
  expect(undocumented).toEqual([]);
}, 60_000);
