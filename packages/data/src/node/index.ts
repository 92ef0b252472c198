// Node only: what reads the file system. Everything else is in the package root, which a browser can bundle.
export { brownCorpusDir, brownFileIds, loadBrownText } from './brown.js';
export { readTextFile } from './text-file.js';
