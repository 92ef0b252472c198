import { cpuReport, demo } from './tensors.js';

// node dist/main.js: the backend report, then the worked run
console.log('cpu backend:', cpuReport());
console.log('demo:', demo());
