/** The bounded checker's worker thread (bounded-check.ts): checks the files it is sent, one at a time. */
import { parentPort } from 'node:worker_threads';
import { HarnessError } from '../lib/errors.js';
import { type CheckFileOptions, checkFile } from './check-file.js';

parentPort!.on('message', (m: { file: string; options: CheckFileOptions }) => {
  checkFile(m.file, m.options).then(
    (result) => parentPort!.postMessage({ result }),
    (e: unknown) => parentPort!.postMessage({ error: { message: (e as Error).message, exitCode: e instanceof HarnessError ? e.exitCode : undefined } }),
  );
});
