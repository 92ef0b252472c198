#!/usr/bin/env node
// check-docs: every exported symbol of every public package has TSDoc. Run after `pnpm build` (it reads dist/).
//
// What is checked: for each public package (packages/*, not private), the entry files named by the `types`
// condition of its package.json `exports`, then every file they re-export from (`export * from`,
// `export { a, type B as C } from`) down to the .d.ts that declares each name. Side-effect imports of an entry
// (`import './x.js'`) are followed too, for the `declare module` augmentations they hold (Tensor's methods).
// Names re-exported from another package are that package's business and are not counted.
//
// The rule (strict, mechanical):
//   1. Every exported declaration has a `/** ... */` comment right above it: function (each overload), class,
//      interface, type alias, const/let/var, enum, namespace.
//   2. Every public member of an exported class or interface (and of an interface augmented by `declare module`)
//      has one too: properties, methods, getters/setters (a getter/setter pair needs one comment), and the
//      constructor when it takes parameters. `private` and `#private` members and index signatures are exempt.
//   3. Every function, method and constructor with parameters has an `@param <name>` tag for each named
//      parameter (a destructured parameter has no name and is exempt: document its type's members instead;
//      a `this:` parameter is exempt). Setters are exempt.
//   4. Every function and method whose return type carries a value has an `@returns` tag; exempt: `void`,
//      `Promise<void>`, `never`, `asserts ...`, constructors, getters and setters.
//   A comment with `{@inheritDoc Other.member}` (a class implementing an interface's method) takes its tags from
//   that declaration: rules 3 and 4 do not apply to it (the named declaration is checked where it is exported).
// Not checked mechanically (reviewed by hand): `@throws` and `@example`.
//
// Output: `check-docs: N exported symbols, M undocumented`, then one `file:line symbol: what is missing` line per
// problem. Exit 1 when M > 0 or when an entry file is missing (run `pnpm build` first).
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** The public packages: { name, dir, entries: [{ subpath, file }] }. */
export function publicPackages() {
  const out = [];
  for (const d of readdirSync(path.join(root, 'packages')).sort()) {
    const dir = path.join(root, 'packages', d);
    const pj = path.join(dir, 'package.json');
    if (!existsSync(pj)) continue;
    const pkg = JSON.parse(readFileSync(pj, 'utf8'));
    if (pkg.private) continue;
    const entries = [];
    for (const [subpath, target] of Object.entries(pkg.exports ?? {})) {
      const types = typeof target === 'object' && target !== null ? target.types : undefined;
      if (typeof types === 'string') entries.push({ subpath, file: path.join(dir, types) });
    }
    out.push({ name: pkg.name, dir, entries });
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------------
// .d.ts parsing. tsc's declaration output is regular: one top-level statement starts at column 0, members are
// indented one level (4 spaces) further than their container, a doc comment sits on the lines right above.

const fileCache = new Map();

function loadFile(file) {
  let f = fileCache.get(file);
  if (f) return f;
  const text = readFileSync(file, 'utf8');
  f = { file, lines: text.split('\n') };
  f.statements = statements(f.lines);
  fileCache.set(file, f);
  return f;
}

const indentOf = (line) => line.length - line.trimStart().length;

/** The doc comment ending on the line above `i` (blank lines not allowed between), or null. */
function docAbove(lines, i) {
  let j = i - 1;
  if (j < 0 || !lines[j].trim().endsWith('*/')) return null;
  const end = j;
  while (j >= 0 && !lines[j].includes('/*')) j--;
  if (j < 0 || !lines[j].trim().startsWith('/**')) return null;
  return lines.slice(j, end + 1).join('\n');
}

/** Strips `/** ... *\/` decoration: the comment's text. */
export function docText(doc) {
  if (!doc) return '';
  return doc
    .replace(/^\s*\/\*\*/, '')
    .replace(/\*\/\s*$/, '')
    .split('\n')
    .map((l) => l.replace(/^\s*\* ?/, ''))
    .join('\n')
    .trim();
}

/** Top-level statements: { line (0-based), text (all of its lines joined), endLine }. */
function statements(lines) {
  const out = [];
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i];
    if (l === '' || indentOf(l) > 0 || /^(\/\*\*|\*|\/\/)/.test(l.trim())) continue;
    if (l.startsWith('/*') || l.startsWith(' *') || l.startsWith('*/')) continue;
    let end = i;
    // a statement runs until its brackets balance on a line ending with `;` or `}`
    let depth = depthDelta(l);
    while (end + 1 < lines.length && (depth > 0 || !/[;}]\s*$/.test(lines[end]))) {
      end++;
      depth += depthDelta(lines[end]);
    }
    out.push({ line: i, endLine: end, text: lines.slice(i, end + 1).join('\n') });
    i = end;
  }
  return out;
}

function depthDelta(s) {
  let d = 0;
  for (const c of s.replace(/\/\*.*?\*\//g, '').replace(/'(?:[^'\\]|\\.)*'/g, "''")) {
    if (c === '(' || c === '{' || c === '[') d++;
    else if (c === ')' || c === '}' || c === ']') d--;
  }
  return d;
}

const DECL =
  /^(export )?(declare )?(abstract )?(function|class|interface|type|const|let|var|enum|namespace|module) ([A-Za-z_$][\w$]*)/;

/** Declarations named `name` at the top level of `f`. */
function declarationsOf(f, name) {
  return f.statements.filter((s) => {
    const m = DECL.exec(s.text);
    return m && m[5] === name;
  });
}

function resolveSpecifier(fromFile, spec) {
  if (!spec.startsWith('.')) return null; // another package
  const base = path.resolve(path.dirname(fromFile), spec);
  for (const c of [base.replace(/\.js$/, '.d.ts'), `${base}.d.ts`, path.join(base, 'index.d.ts')]) {
    if (existsSync(c)) return c;
  }
  throw new Error(`check-docs: cannot resolve '${spec}' from ${fromFile}`);
}

/** Parses `{ a, type B as C }` into [{ local, exported }]. */
function namedList(s) {
  const inner = s.slice(s.indexOf('{') + 1, s.lastIndexOf('}'));
  return inner
    .split(',')
    .map((x) => x.trim().replace(/^type\s+/, ''))
    .filter(Boolean)
    .map((x) => {
      const m = /^([\w$]+)(?:\s+as\s+([\w$]+))?$/.exec(x);
      if (!m) throw new Error(`check-docs: cannot parse export item '${x}'`);
      return { local: m[1], exported: m[2] ?? m[1] };
    });
}

/**
 * The exported names of a .d.ts file: Map exported name -> { file, local } (the declaring file and its name
 * there), or { external: spec } for a name re-exported from another package.
 */
function exportsOf(file, seen = new Set()) {
  const out = new Map();
  if (seen.has(file)) return out;
  seen.add(file);
  const f = loadFile(file);
  for (const s of f.statements) {
    const t = s.text;
    let m = /^export (?:type )?\{[^}]*\}\s*from\s*'([^']+)'/s.exec(t);
    if (m) {
      const target = resolveSpecifier(file, m[1]);
      for (const { local, exported } of namedList(t)) {
        if (!target) out.set(exported, { external: m[1] });
        else out.set(exported, resolveName(target, local));
      }
      continue;
    }
    m = /^export \* from '([^']+)'/.exec(t);
    if (m) {
      const target = resolveSpecifier(file, m[1]);
      if (!target) continue;
      for (const [k, v] of exportsOf(target, new Set(seen))) if (!out.has(k)) out.set(k, v);
      continue;
    }
    m = /^export (?:type )?\{([^}]*)\};/s.exec(t);
    if (m) {
      for (const { local, exported } of namedList(t)) out.set(exported, resolveName(file, local));
      continue;
    }
    m = DECL.exec(t);
    if (m?.[1]) out.set(m[5], { file, local: m[5] });
  }
  return out;
}

/** Follows `name` in `file` to the file that declares it (through re-exports and imports). */
function resolveName(file, name, depth = 0) {
  if (depth > 50) throw new Error(`check-docs: re-export cycle at '${name}' in ${file}`);
  const f = loadFile(file);
  if (declarationsOf(f, name).length) return { file, local: name };
  for (const s of f.statements) {
    const m = /^(?:export|import) (?:type )?\{[^}]*\}\s*from\s*'([^']+)'/s.exec(s.text);
    if (!m) continue;
    const item = namedList(s.text).find((x) => x.exported === name);
    if (!item) continue;
    const target = resolveSpecifier(file, m[1]);
    return target ? resolveName(target, item.local, depth + 1) : { external: m[1] };
  }
  for (const s of f.statements) {
    const m = /^export \* from '([^']+)'/.exec(s.text);
    const target = m && resolveSpecifier(file, m[1]);
    if (!target) continue;
    try {
      return resolveName(target, name, depth + 1);
    } catch {}
  }
  throw new Error(`check-docs: cannot find the declaration of '${name}' in ${file}`);
}

// ---------------------------------------------------------------------------------------------------------------
// signatures

/** Splits `s` at top-level commas (outside (), [], {}, <>; `=>` does not close an angle bracket). */
function splitTop(s) {
  const parts = [];
  let depth = 0;
  let cur = '';
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (c === "'" || c === '"' || c === '`') {
      const j = s.indexOf(c, i + 1);
      if (j < 0) throw new Error(`check-docs: unterminated string in '${s}'`);
      cur += s.slice(i, j + 1);
      i = j;
      continue;
    }
    if ('([{<'.includes(c)) depth++;
    else if (')]}'.includes(c) || (c === '>' && s[i - 1] !== '=')) depth--;
    if (c === ',' && depth === 0) {
      parts.push(cur);
      cur = '';
    } else cur += c;
  }
  if (cur.trim()) parts.push(cur);
  return parts.map((p) => p.trim());
}

/** Index of the bracket closing the one at `open`. */
function closing(s, open) {
  const o = s[open];
  const c = { '(': ')', '<': '>', '{': '}', '[': ']' }[o];
  let depth = 0;
  for (let i = open; i < s.length; i++) {
    if (s[i] === "'" || s[i] === '"') {
      i = s.indexOf(s[i], i + 1);
      if (i < 0) return -1;
      continue;
    }
    if (s[i] === o) depth++;
    else if (s[i] === c && !(c === '>' && s[i - 1] === '=')) {
      depth--;
      if (depth === 0) return i;
    }
  }
  return -1;
}

/**
 * Parses a call signature starting after the name: `<T>(a: A, b?: B): R;` -> { params: [names or null for
 * destructured / this], returns }. Returns null when `text` is not a call signature.
 */
export function parseSignature(signature) {
  const text = signature.replace(/\/\*[\s\S]*?\*\//g, '');
  let i = 0;
  while (text[i] === ' ' || text[i] === '?') i++;
  if (text[i] === '<') i = closing(text, i) + 1;
  if (text[i] !== '(') return null;
  const close = closing(text, i);
  const params = splitTop(text.slice(i + 1, close))
    .map((p) => p.replace(/\/\*\*[\s\S]*?\*\//g, '').trim())
    .filter(Boolean)
    .map((p) => {
      const m = /^(?:(?:public|private|protected|readonly|override)\s+)*(?:\.\.\.)?([A-Za-z_$][\w$]*)/.exec(p);
      return m && m[1] !== 'this' ? m[1] : null;
    });
  const rest = text.slice(close + 1).trim();
  const returns = rest.startsWith(':') ? rest.slice(1).replace(/;\s*$/, '').trim() : null;
  return { params, returns, source: text.slice(i, close + 1) };
}

const NO_VALUE = /^(void|Promise<void>|never|asserts\b.*)$/s;

function checkSignature(doc, sig, { returns = true } = {}) {
  const missing = [];
  const text = docText(doc);
  if (/\{@inheritDoc\s/.test(text)) return missing; // the tags come from the named declaration
  for (const p of sig.params) {
    if (p && !new RegExp(`@param\\s+(\\{[^}]*\\}\\s*)?\\[?${p.replace(/\$/g, '\\$')}\\b`).test(text)) {
      missing.push(`@param ${p}`);
    }
  }
  if (returns && sig.returns && !NO_VALUE.test(sig.returns) && !/@returns?\b/.test(text)) missing.push('@returns');
  return missing;
}

// ---------------------------------------------------------------------------------------------------------------
// members of a class or interface body: the lines between `{` at `startLine` and its closing `}`

const MODIFIERS = /^(?:(?:public|protected|readonly|static|abstract|declare|override|async)\s+)*/;

function members(lines, startLine, endLine) {
  const out = [];
  const bodyIndent = indentOf(lines[startLine]) + 4;
  // the body opens on the first line ending in `{` outside the header's type arguments (`extends Record<K, {`)
  let angle = 0;
  let bodyLine = startLine;
  for (; bodyLine < endLine; bodyLine++) {
    for (const [k, c] of [...lines[bodyLine]].entries()) {
      if (c === '<') angle++;
      else if (c === '>' && lines[bodyLine][k - 1] !== '=') angle--;
    }
    if (angle === 0 && /\{\s*$/.test(lines[bodyLine])) break;
  }
  for (let i = bodyLine + 1; i < endLine; i++) {
    const l = lines[i];
    if (indentOf(l) !== bodyIndent) continue;
    const t = l.trim();
    if (/^(\/\*|\*|\/\/|\}|\)|\])/.test(t) || t === '') continue;
    // the member's full text: until a line at body indent ending with `;` (or a `}` closing a nested body)
    const start = i;
    let end = i;
    let depth = depthDelta(l);
    while (end + 1 < endLine && (depth > 0 || !/;\s*$/.test(lines[end]))) {
      end++;
      depth += depthDelta(lines[end]);
    }
    const text = lines
      .slice(i, end + 1)
      .join('\n')
      .trim();
    i = end;
    if (/^private\b/.test(text) || text.startsWith('#private')) continue;
    const rest = text.replace(MODIFIERS, '');
    if (/^\[[\w$]+\s*:/.test(rest)) continue; // index signature
    let kind = 'property';
    let body = rest;
    const acc = /^(get|set)\s+(?=[\w$[])/.exec(rest);
    if (acc) {
      kind = acc[1];
      body = rest.slice(acc[0].length);
    }
    let name;
    if (body.startsWith('[')) name = body.slice(0, closing(body, 0) + 1);
    else if (body.startsWith('(') || body.startsWith('<')) name = '(call)';
    else if (body.startsWith('new ') || body.startsWith('new(')) name = 'new';
    else name = /^([\w$]+|'[^']*'|"[^"]*")/.exec(body)?.[1];
    if (!name) continue;
    const after = name === '(call)' ? body : body.slice(name.length).replace(/^\s*new\b/, '');
    const sig = kind === 'property' ? parseSignature(after) : null;
    if (sig) kind = name === 'constructor' ? 'constructor' : 'method';
    out.push({ line: start, name, kind, sig, text });
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------------

/**
 * Everything exported by the public packages, one record per package:
 * { name, entries: [{ subpath, symbols: [{ name, file, line, kind, doc, text, members }] }], problems }.
 */
export function collectApi() {
  const pkgs = [];
  for (const pkg of publicPackages()) {
    const rec = { name: pkg.name, dir: pkg.dir, entries: [], symbols: 0, problems: [] };
    const checked = new Set();
    const problem = (file, line, symbol, what) =>
      rec.problems.push({ where: `${path.relative(root, file)}:${line + 1}`, symbol, what });
    for (const entry of pkg.entries) {
      if (!existsSync(entry.file)) throw new Error(`check-docs: ${entry.file} is missing (run pnpm build)`);
      const symbols = [];
      for (const [exported, target] of [...exportsOf(entry.file)].sort((a, b) => a[0].localeCompare(b[0]))) {
        if (target.external) continue;
        const f = loadFile(target.file);
        const decls = declarationsOf(f, target.local);
        const key = `${target.file}#${target.local}`;
        const first = !checked.has(key);
        checked.add(key);
        const sym = { name: exported, file: target.file, decls: [], members: [] };
        for (const d of decls) {
          const kind = DECL.exec(d.text)[4];
          const doc = docAbove(f.lines, d.line);
          sym.decls.push({ kind, line: d.line, doc, text: d.text });
          if (!first) continue;
          if (!doc) problem(target.file, d.line, exported, 'no doc comment');
          else if (kind === 'function') {
            const sig = parseSignature(d.text.replace(DECL, ''));
            const missing = sig ? checkSignature(doc, sig) : [];
            if (missing.length) problem(target.file, d.line, exported, missing.join(', '));
          }
          if ((kind === 'class' || kind === 'interface') && /\{\s*$/.test(f.lines[d.line])) {
            sym.members.push(...memberProblems(f, d.line, d.endLine, exported, first ? problem : () => {}));
          }
        }
        if (first) rec.symbols++;
        symbols.push(sym);
      }
      // augmentations reached through the entry's side-effect imports
      for (const s of loadFile(entry.file).statements) {
        const m = /^import '([^']+)';/.exec(s.text);
        if (!m) continue;
        const target = resolveSpecifier(entry.file, m[1]);
        if (!target) continue;
        const f = loadFile(target);
        for (const st of f.statements) {
          if (!/^declare module /.test(st.text)) continue;
          for (let i = st.line + 1; i < st.endLine; i++) {
            const im = /^ {4}interface ([\w$]+)/.exec(f.lines[i]);
            if (!im) continue;
            let end = i + 1;
            while (!/^ {4}\}/.test(f.lines[end])) end++;
            const key = `${target}#aug#${im[1]}`;
            if (checked.has(key)) continue;
            checked.add(key);
            const ms = memberProblems(f, i, end, im[1], problem);
            const sym = symbols.find((x) => x.name === im[1]);
            if (sym) sym.members.push(...ms);
          }
        }
      }
      rec.entries.push({ subpath: entry.subpath, symbols });
    }
    pkgs.push(rec);
  }
  return pkgs;
}

function memberProblems(f, startLine, endLine, owner, problem) {
  const out = [];
  const ms = members(f.lines, startLine, endLine);
  const accessorsSeen = new Set();
  for (const m of ms) {
    const line = m.line;
    const doc = docAbove(f.lines, line);
    const label = `${owner}.${m.name}`;
    out.push({ ...m, line, doc });
    if (m.kind === 'get' || m.kind === 'set') {
      const pairDoc = accessorsSeen.has(m.name);
      accessorsSeen.add(m.name);
      if (pairDoc) continue; // the first of a get/set pair carries the comment
      if (!doc && !ms.some((o) => o !== m && o.name === m.name && (o.kind === 'get' || o.kind === 'set'))) {
        problem(f.file, line, label, 'no doc comment');
      } else if (!doc) {
        const other = out.find((o) => o.name === m.name && o !== out[out.length - 1]);
        if (!other?.doc) problem(f.file, line, label, 'no doc comment');
      }
      continue;
    }
    if (m.kind === 'constructor') {
      if (m.sig.params.length === 0) continue;
      if (!doc) problem(f.file, line, label, 'no doc comment');
      else {
        const missing = checkSignature(doc, m.sig, { returns: false });
        if (missing.length) problem(f.file, line, label, missing.join(', '));
      }
      continue;
    }
    if (!doc) {
      problem(f.file, line, label, 'no doc comment');
      continue;
    }
    if (m.kind === 'method') {
      const missing = checkSignature(doc, m.sig);
      if (missing.length) problem(f.file, line, label, missing.join(', '));
    }
  }
  return out;
}

function main() {
  let pkgs;
  try {
    pkgs = collectApi();
  } catch (e) {
    console.error(e.message);
    process.exit(1);
  }
  let n = 0;
  let m = 0;
  const lines = [];
  for (const p of pkgs) {
    n += p.symbols;
    m += p.problems.length;
    const undocSymbols = new Set(p.problems.map((x) => x.symbol.split('.')[0])).size;
    lines.push(
      `  ${p.name}: ${p.symbols} exported symbols, ${p.problems.length} problems (in ${undocSymbols} symbols)`,
    );
  }
  console.log(`check-docs: ${n} exported symbols, ${m} undocumented`);
  for (const l of lines) console.log(l);
  for (const p of pkgs) for (const x of p.problems) console.log(`${x.where} ${x.symbol}: ${x.what}`);
  if (m > 0) process.exit(1);
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) main();
