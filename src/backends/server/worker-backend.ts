/**
 * `WorkerBackend`: a Backend that runs another Backend in a worker thread, so a synchronous CPU
 * step (the engine's forward/backward) never blocks the server's event loop: health checks and
 * future polls keep answering while a step runs. The inner backend is built inside the worker by
 * a named factory export of a module; the tokenizer and renderer (synchronous, cheap) stay in the
 * main thread and are passed in by the caller. Works from TypeScript sources (through tsx) and
 * from compiled JavaScript.
 */
import { Worker } from 'node:worker_threads';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { Backend } from '../backend.js';
import type { AdamParams, Datum, ForwardBackwardResult, LossSpec } from '../../training-types.js';
import type { ChatRenderer } from '../../rollout/chat-renderer.js';
import type { GeneratedToken, Policy, SampleRequest, SampleResult } from '../../rollout/policy.js';
import type { Tokenizer } from '../../rollout/tokenizer.js';
import type { LoraSpec } from '../../engine/lora/lora-config.js';
import { CheckpointError, ConfigError, DataError, RemoteError, ShapeError, TurnwiseError } from '../../errors.js';
import { isTypeScriptFile, tsxApiUrl } from '../../typescript-import.js';

/** Options of `createWorkerBackend`. */
export interface WorkerBackendOptions {
  /** Path or file URL of the module that exports the factory. */
  module: string;
  /** Name of the factory export: `(factoryOptions) => Backend | Promise<Backend>`. */
  exportName: string;
  /** Structured-cloneable argument of the factory. */
  factoryOptions?: unknown;
  /** Main-thread copies of the inner backend's tokenizer and renderer. */
  tokenizer: Tokenizer;
  renderer: ChatRenderer;
}

const ERRORS: Record<string, new (message: string) => Error> = {
  ConfigError,
  DataError,
  ShapeError,
  CheckpointError,
  RemoteError,
  TurnwiseError,
};

/** Proxies every Backend call to a worker thread. */
export class WorkerBackend implements Backend {
  readonly name: string;
  readonly tokenizer: Tokenizer;
  readonly renderer: ChatRenderer;
  private readonly pending = new Map<
    number,
    { resolve: (value: unknown) => void; reject: (error: Error) => void; onToken?: (token: GeneratedToken) => void }
  >();
  private nextId = 1;
  private closed = false;

  private constructor(
    private readonly worker: Worker,
    name: string,
    options: WorkerBackendOptions,
  ) {
    this.name = name;
    this.tokenizer = options.tokenizer;
    this.renderer = options.renderer;
    worker.on(
      'message',
      (message: {
        id: number;
        result?: unknown;
        error?: { name: string; message: string };
        token?: GeneratedToken;
      }) => {
        const waiter = this.pending.get(message.id);
        if (!waiter) return;
        // A streamed token of a sample in progress: the call is still pending.
        if (message.token !== undefined) {
          try {
            waiter.onToken?.(message.token);
          } catch (error) {
            // The caller refused the stream: its call fails now (the worker's result is dropped).
            this.pending.delete(message.id);
            waiter.reject(error instanceof Error ? error : new Error(String(error)));
          }
          return;
        }
        this.pending.delete(message.id);
        if (message.error) waiter.reject(rehydrate(message.error));
        else waiter.resolve(message.result);
      },
    );
    worker.on('error', (error) => this.failAll(error));
    worker.on('exit', (code) => this.failAll(new RemoteError(`backend worker exited with code ${code}`)));
  }

  /** Starts the worker, builds the inner backend in it and waits until it is ready. */
  static async create(options: WorkerBackendOptions): Promise<WorkerBackend> {
    const self = fileURLToPath(import.meta.url);
    const typescript = self.endsWith('.ts');
    const workerUrl = pathToFileURL(
      self.replace(/worker-backend\.(ts|js)$/, `backend-worker.${typescript ? 'ts' : 'js'}`),
    ).href;
    // From the sources the worker runs under tsx too; compiled, it needs tsx only for a TypeScript backend module.
    const modulePath = options.module.startsWith('file:') ? fileURLToPath(options.module) : options.module;
    const tsxApi =
      typescript || isTypeScriptFile(modulePath)
        ? tsxApiUrl(`backend module ${modulePath}`, [modulePath, import.meta.url])
        : undefined;
    const boot = tsxApi
      ? `import(${JSON.stringify(tsxApi)}).then((m) => { m.register(); return import(${JSON.stringify(workerUrl)}); });`
      : `import(${JSON.stringify(workerUrl)});`;
    const module = options.module.startsWith('file:') ? options.module : pathToFileURL(options.module).href;
    const worker = new Worker(boot, {
      eval: true,
      workerData: { module, exportName: options.exportName, factoryOptions: options.factoryOptions },
    });
    const ready = await new Promise<{ name: string; vocabSize: number }>((resolve, reject) => {
      const onMessage = (message: {
        id: number;
        result?: { name: string; vocabSize: number };
        error?: { name: string; message: string };
      }): void => {
        if (message.id !== 0) return;
        worker.off('message', onMessage);
        if (message.error) reject(rehydrate(message.error));
        else resolve(message.result!);
      };
      worker.on('message', onMessage);
      worker.once('error', reject);
      worker.once('exit', (code) =>
        reject(new RemoteError(`backend worker exited with code ${code} before it was ready`)),
      );
    }).catch(async (error) => {
      await worker.terminate();
      throw error;
    });
    if (ready.vocabSize !== options.tokenizer.vocabSize) {
      await worker.terminate();
      throw new ConfigError(
        `the worker's backend has a vocabulary of ${ready.vocabSize} ids ` +
          `but the tokenizer passed in has ${options.tokenizer.vocabSize}`,
      );
    }
    return new WorkerBackend(worker, ready.name, options);
  }

  policy(): Policy {
    return {
      tokenizer: this.tokenizer,
      sample: (request: SampleRequest, onToken?: (token: GeneratedToken) => void) =>
        this.call<SampleResult>('sample', [request], onToken),
      release: (sessionId: string) => void this.call('release', [sessionId]).catch(() => undefined),
    };
  }

  forward(data: Datum[], options: { temperature: number }): Promise<number[][]> {
    return this.call('forward', [data, options]);
  }

  forwardBackward(data: Datum[], loss: LossSpec, options: { temperature: number }): Promise<ForwardBackwardResult> {
    return this.call('forwardBackward', [data, loss, options]);
  }

  optimStep(params: AdamParams): Promise<Record<string, number>> {
    return this.call('optimStep', [params]);
  }

  configureLora(spec: LoraSpec | undefined): Promise<void> {
    return this.call('configureLora', [spec]);
  }

  save(name: string): Promise<string> {
    return this.call('save', [name]);
  }

  load(path: string, options: { optimizer: boolean }): Promise<void> {
    return this.call('load', [path, options]);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    await this.call('close', []).catch(() => undefined);
    this.closed = true;
    await this.worker.terminate();
  }

  /** Posts a call; with `onToken`, the worker streams the sample's tokens back before the result. */
  private call<T>(method: string, args: unknown[], onToken?: (token: GeneratedToken) => void): Promise<T> {
    if (this.closed) return Promise.reject(new TurnwiseError(`backend worker is closed; cannot call ${method}`));
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (value: unknown) => void, reject, onToken });
      this.worker.postMessage({ id, method, args, stream: onToken !== undefined });
    });
  }

  private failAll(error: Error): void {
    for (const waiter of this.pending.values()) waiter.reject(error);
    this.pending.clear();
  }
}

function rehydrate(error: { name: string; message: string }): Error {
  const Class = ERRORS[error.name];
  return Class ? new Class(error.message) : new RemoteError(`backend worker: ${error.name}: ${error.message}`);
}
