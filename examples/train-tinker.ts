// MT-GRPO on the search task with a real model on a Tinker-protocol service (hosted Tinker, a SkyRL
// tinker server, or `turnwise serve`); the config's `backend` section says which. Usage:
//   export TINKER_API_KEY=...          # the variable backend.apiKeyEnv names
//   npx tsx examples/train-tinker.ts tinker.yaml [--rl.steps=50 ...]
// with tinker.yaml:
//   backend: { kind: tinker, baseUrl: https://..., baseModel: Qwen/Qwen3-8B, tokenizerDir: models/qwen3-8b,
//              capabilities: hosted, loraRank: 32 }
//   rl: { temperature: 1, maxCompletionTokens: 1024 }
// `turnwise train --config tinker.yaml` runs the same; this is the programmatic route.
import { loadConfig, trainRun } from 'turnwise';
import { searchQaTaskDefinition } from 'turnwise/search-qa';

const tasks = [searchQaTaskDefinition];
const config = await loadConfig({ file: process.argv[2], overrides: process.argv.slice(3), tasks });
const task = await searchQaTaskDefinition.open(config, { log: (message) => console.error(message) });
// No base directory: a tinker run starts from backend.baseModel (no local base is built).
const result = await trainRun(config, task, undefined);
console.log(
  `trained ${result.steps} steps; metrics in ${result.runDir}/metrics.jsonl, checkpoint ${result.checkpoint}`,
);
await result.backend.close();
task.close?.();
