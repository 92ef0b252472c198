// Real-browser test helpers: find and launch Debian's Chromium through playwright-core (no browser download), and
// serve a folder over HTTP with or without the COOP/COEP headers that cross-origin isolation (and with it
// SharedArrayBuffer, so wasm threads) needs.
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { extname, join, normalize, resolve, sep } from 'node:path';

/** @returns {string | null} the Chromium binary: $CHROMIUM_PATH, else /usr/bin/chromium, else null */
export function findChromium() {
  const candidates = [process.env.CHROMIUM_PATH, '/usr/bin/chromium', '/usr/bin/chromium-browser'];
  for (const c of candidates) if (c && existsSync(c)) return c;
  return null;
}

/**
 * Why browser tests cannot run here, or null when they can. Under CI=true a missing Chromium is a failure the
 * caller reports (CI installs it), elsewhere a visible skip.
 * @returns {string | null}
 */
export function browserSkipReason() {
  if (findChromium()) return null;
  return 'no Chromium (apt-get install chromium, or set CHROMIUM_PATH)';
}

/**
 * Launches headless Chromium with a fresh profile.
 * @param {{ webgpu?: boolean }} [opts] webgpu: add --enable-unsafe-webgpu (a software WebGPU adapter without a GPU)
 * @returns {Promise<{ context: import('playwright-core').BrowserContext, page: import('playwright-core').Page,
 *   consoleErrors: string[], close(): Promise<void> }>}
 */
export async function launchChromium(opts = {}) {
  const executablePath = findChromium();
  if (!executablePath) throw new Error(browserSkipReason() ?? 'no Chromium');
  const { chromium } = await import('playwright-core');
  const profile = mkdtempSync(join(tmpdir(), 'tinyformer-chromium-'));
  const args = [
    '--headless=new',
    '--no-sandbox',
    '--no-first-run',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
    '--enable-unsafe-swiftshader',
  ];
  if (opts.webgpu) args.push('--enable-unsafe-webgpu');
  // a bogus Vulkan ICD path from a Node WebGPU test would kill Chromium's own (bundled) SwiftShader
  const env = { ...process.env };
  delete env.VK_ICD_FILENAMES;
  const context = await chromium.launchPersistentContext(profile, {
    executablePath,
    headless: true,
    ignoreDefaultArgs: ['--headless'],
    args,
    env,
  });
  const page = context.pages()[0] ?? (await context.newPage());
  /** @type {string[]} */
  const consoleErrors = [];
  page.on('console', (m) => {
    if (m.type() === 'error') consoleErrors.push(m.text());
  });
  page.on('pageerror', (e) => consoleErrors.push(`pageerror: ${e.message}`));
  return {
    context,
    page,
    consoleErrors,
    async close() {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

const TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.wasm': 'application/wasm',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.txt': 'text/plain; charset=utf-8',
  '.safetensors': 'application/octet-stream',
};

/** The two headers that make a page cross-origin isolated (SharedArrayBuffer, wasm threads). */
export const ISOLATION_HEADERS = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
};

/**
 * Serves `root` on 127.0.0.1 (a secure context, so WebGPU and SharedArrayBuffer are allowed).
 * @param {string} root the folder
 * @param {{ isolated?: boolean }} [opts] isolated (default true): send COOP/COEP
 * @returns {Promise<{ url: string, close(): Promise<void> }>}
 */
export async function serveStatic(root, opts = {}) {
  const base = resolve(root);
  const isolated = opts.isolated !== false;
  const server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    let file = normalize(join(base, path));
    if (file !== base && !file.startsWith(base + sep)) {
      res.writeHead(403).end();
      return;
    }
    if (existsSync(file) && statSync(file).isDirectory()) file = join(file, 'index.html');
    if (!existsSync(file)) {
      res.writeHead(404).end('not found');
      return;
    }
    const headers = { 'Content-Type': TYPES[extname(file)] ?? 'application/octet-stream', 'Cache-Control': 'no-store' };
    if (isolated) Object.assign(headers, ISOLATION_HEADERS);
    res.writeHead(200, headers).end(readFileSync(file));
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', () => r(undefined)));
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : 0;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise((r) => {
        server.closeAllConnections();
        server.close(() => r(undefined));
      }),
  };
}
