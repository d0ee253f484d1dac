/**
 * The worker-thread side of `WorkerBackend`: builds a Backend with the factory named in its
 * `workerData`, then answers method calls posted by the main thread. Synchronous compute (the CPU
 * engine) blocks only this thread, so the server's event loop keeps answering.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { pathToFileURL } from 'node:url';
import type { Backend } from '../backend.js';
import type { GeneratedToken } from '../../rollout/policy.js';

interface Call {
  id: number;
  method:
    | 'forward'
    | 'forwardBackward'
    | 'optimStep'
    | 'save'
    | 'load'
    | 'close'
    | 'sample'
    | 'release'
    | 'configureLora';
  args: unknown[];
  /** Post each sampled token as `{id, token}` before the result. */
  stream?: boolean;
}

const { module, exportName, factoryOptions } = workerData as {
  module: string;
  exportName: string;
  factoryOptions: unknown;
};

async function build(): Promise<Backend> {
  const url = module.startsWith('file:') ? module : pathToFileURL(module).href;
  const loaded = (await import(url)) as Record<string, unknown>;
  const factory = loaded[exportName];
  if (typeof factory !== 'function')
    throw new Error(`module ${module} has no function export ${JSON.stringify(exportName)}`);
  return (await (factory as (options: unknown) => Backend | Promise<Backend>)(factoryOptions)) as Backend;
}

const ready = build();
ready.then(
  (backend) =>
    parentPort!.postMessage({ id: 0, result: { name: backend.name, vocabSize: backend.tokenizer.vocabSize } }),
  (error: Error) => parentPort!.postMessage({ id: 0, error: { name: error.name, message: error.message } }),
);

parentPort!.on('message', async (call: Call) => {
  try {
    const backend = await ready;
    let result: unknown;
    if (call.method === 'sample') {
      const onToken = call.stream
        ? (token: GeneratedToken) => parentPort!.postMessage({ id: call.id, token })
        : undefined;
      result = await backend.policy().sample(call.args[0] as never, onToken);
    } else if (call.method === 'release') result = backend.policy().release?.(call.args[0] as string);
    else {
      const method = backend[call.method] as ((...args: unknown[]) => Promise<unknown>) | undefined;
      if (typeof method !== 'function')
        throw new TypeError(`the ${backend.name} backend has no ${call.method} (it cannot train LoRA adapters)`);
      result = await method.apply(backend, call.args);
    }
    parentPort!.postMessage({ id: call.id, result });
  } catch (error) {
    const failure = error instanceof Error ? error : new Error(String(error));
    parentPort!.postMessage({ id: call.id, error: { name: failure.name, message: failure.message } });
  }
});
