#!/usr/bin/env node
// Checks that no two folders of src/ import each other, directly or through others: the folders
// follow the data flow, so the folder graph must be acyclic. Every import of every non-test file
// (static, re-export, and import() of a literal path) is read with TypeScript's own pre-processor.
// A folder is a top-level folder of src/ (src/engine, src/backends, ...); with --depth 2 also its
// sub-folders (src/backends/tinker, src/backends/server, ...). Prints the folder graph and every
// cycle found, exits 1 if there is one. Run: `npm run check:cycles`.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import ts from 'typescript';

const root = resolve(dirname(new URL(import.meta.url).pathname), '..');
const src = join(root, 'src');
const depth = process.argv.includes('--depth') ? Number(process.argv[process.argv.indexOf('--depth') + 1]) : 1;
const verbose = process.argv.includes('--verbose');

function* sourceFiles(directory) {
  for (const name of readdirSync(directory)) {
    const path = join(directory, name);
    if (statSync(path).isDirectory()) {
      if (name !== '__fixtures__') yield* sourceFiles(path);
    } else if (
      /\.tsx?$/.test(name) &&
      !/\.(test|bench)\.ts$/.test(name) &&
      !name.endsWith('.suite.ts') &&
      !name.endsWith('.d.ts')
    ) {
      yield path;
    }
  }
}

/** The folder a file belongs to at the given depth ('src' for the files at src/ itself). */
function folderOf(file, levels) {
  const parts = relative(src, dirname(file)).split(sep).filter(Boolean);
  return parts.length === 0 ? 'src' : `src/${parts.slice(0, levels).join('/')}`;
}

function check(levels) {
  const edges = new Map(); // folder -> Map(folder -> example "file -> file")
  for (const file of sourceFiles(src)) {
    const info = ts.preProcessFile(readFileSync(file, 'utf8'), true, true);
    for (const { fileName } of info.importedFiles) {
      if (!fileName.startsWith('.')) continue;
      const target = resolve(dirname(file), fileName).replace(/\.js$/, '.ts');
      if (!target.startsWith(src + sep)) continue;
      const from = folderOf(file, levels);
      const to = folderOf(target, levels);
      // A folder and its own parent or child at this depth is not a pair of siblings: skip
      // src itself (root files are the shared vocabulary every folder may import).
      if (from === to || to === 'src') continue;
      if (from !== 'src' && (to.startsWith(`${from}/`) || from.startsWith(`${to}/`))) continue;
      if (!edges.has(from)) edges.set(from, new Map());
      const targets = edges.get(from);
      if (!targets.has(to)) targets.set(to, `${relative(root, file)} -> ${relative(root, target)}`);
    }
  }
  // Tarjan's strongly connected components: every component of more than one folder is a cycle.
  const index = new Map(),
    low = new Map(),
    stack = [],
    onStack = new Set(),
    cycles = [];
  let counter = 0;
  const visit = (node) => {
    index.set(node, counter);
    low.set(node, counter);
    counter += 1;
    stack.push(node);
    onStack.add(node);
    for (const next of edges.get(node)?.keys() ?? []) {
      if (!index.has(next)) {
        visit(next);
        low.set(node, Math.min(low.get(node), low.get(next)));
      } else if (onStack.has(next)) low.set(node, Math.min(low.get(node), index.get(next)));
    }
    if (low.get(node) === index.get(node)) {
      const component = [];
      let member;
      do {
        member = stack.pop();
        onStack.delete(member);
        component.push(member);
      } while (member !== node);
      if (component.length > 1) cycles.push(component.sort());
    }
  };
  for (const node of [...edges.keys()].sort()) if (!index.has(node)) visit(node);
  if (verbose) {
    for (const [from, targets] of [...edges].sort()) console.log(`${from} -> ${[...targets.keys()].sort().join(', ')}`);
  }
  for (const component of cycles) {
    console.log(`cycle between ${component.join(', ')}:`);
    for (const from of component) {
      for (const [to, example] of edges.get(from) ?? [])
        if (component.includes(to)) console.log(`  ${from} -> ${to} (${example})`);
    }
  }
  console.log(`depth ${levels}: ${edges.size} folders with imports, ${cycles.length} cycle(s)`);
  return cycles.length;
}

let failures = 0;
for (let levels = 1; levels <= Math.max(1, depth); levels += 1) failures += check(levels);
process.exit(failures > 0 ? 1 : 0);
