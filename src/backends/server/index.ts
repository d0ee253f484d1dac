/**
 * `turnwise/server`: `turnwise serve` as a library: the Tinker-protocol HTTP server (with the
 * OpenAI-compatible `/v1` routes) in front of any Backend, the worker-thread backend that keeps its
 * event loop free, the checkpoint backend it serves, and fault injection for testing clients.
 */
export { createTinkerServer, type TinkerServer, type TinkerServerOptions } from './tinker-server.js';
export { WorkerBackend, type WorkerBackendOptions } from './worker-backend.js';
export { createCheckpointBackend, type CheckpointBackendOptions } from './checkpoint-backend.js';
export { parseFaultSpec, type FaultConfig } from './fault-injector.js';
