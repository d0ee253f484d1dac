/**
 * `turnwise/server`: `turnwise serve` as a library: the Tinker-protocol HTTP server (with the
 * OpenAI-compatible `/v1` routes) in front of any Backend, the worker-thread backend that keeps its
 * event loop free, the checkpoint backend it serves, fault injection and the emulation profiles
 * (SkyRL, hosted Tinker) for testing clients.
 */
export { createTinkerServer, type TinkerServer, type TinkerServerOptions } from './tinker-server.js';
export { WorkerBackend, type WorkerBackendOptions } from './worker-backend.js';
export { createCheckpointBackend, type CheckpointBackendOptions } from './checkpoint-backend.js';
export { parseFaultSpec, type FaultConfig } from './fault-injector.js';
export {
  EMULATION_PROFILES,
  emulationProfile,
  type Emulation,
  type EmulationProfile,
  type RateLimit,
} from './emulation.js';
export { PROTOBUF_CONTENT_TYPE, TINKER_PROTO } from './tinker-proto.js';
export { DEFAULT_REQUEST_BOUNDS, type RequestBounds } from './request-bounds.js';
