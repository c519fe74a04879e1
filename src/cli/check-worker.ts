/** The bounded checker's worker thread (bounded-check.ts): checks the files it is sent, one at a time. */
import { parentPort } from 'node:worker_threads';
import { HarnessError, toError } from '../lib/errors.js';
import type { WorkerAnswer, WorkerRequest } from './bounded-check.js';
import { checkFile } from './check-file.js';

const answer = (a: WorkerAnswer) => parentPort!.postMessage(a);

parentPort!.on('message', (m: WorkerRequest) => {
  checkFile(m.file, m.options).then(
    (result) => answer({ result }),
    (e: unknown) => answer({ error: { message: toError(e).message, exitCode: e instanceof HarnessError ? e.exitCode : undefined } }),
  );
});
