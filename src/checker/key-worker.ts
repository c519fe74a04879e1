/**
 * A worker thread that checks the keys it is sent (parallel.ts): each message is one key's ops,
 * each answer that key's LinearizabilityResult. Models are named, not sent (functions do not
 * cross threads); the starting state (a register's --initial) comes with the name.
 */
import { parentPort } from 'node:worker_threads';
import { type Op, PairedHistory } from '../history/op.js';
import { checkLinearizable, type LinearizabilityOptions } from './linearizable.js';
import { kvModel } from './models/kv.js';
import type { Model } from './models/model.js';
import { multiRegisterStartingAt } from './models/multi-register.js';
import { mutexModel } from './models/mutex.js';
import { registerModel } from './models/register.js';

const MODELS: Record<string, Model<unknown>> = {
  register: registerModel,
  kv: kvModel,
  mutex: mutexModel as Model<unknown>,
  'multi-register': multiRegisterStartingAt({}) as Model<unknown>,
};

parentPort!.on('message', (m: { id: number; model: string; initial: unknown; ops: Op[]; options: LinearizabilityOptions }) => {
  const model: Model<unknown> = { ...MODELS[m.model]!, init: () => m.initial };
  const result = checkLinearizable(PairedHistory.of(m.ops), model, m.options);
  parentPort!.postMessage({ id: m.id, result });
});
