// MT-GRPO on the search task with a real model on a Tinker-protocol service (hosted Tinker, a
// SkyRL tinker server, or `turnwise serve`). Usage: npx tsx examples/train-tinker.ts tinker.yaml
// with TINKER_BASE_URL, TINKER_API_KEY and TINKER_TOKENIZER_DIR (the model's tokenizer files) set.
import { ChatTemplateRenderer, TinkerBackend, loadConfig, loadTokenizer, openTask, runRl } from 'turnwise';

const config = await loadConfig({ file: process.argv[2] });
const tokenizer = await loadTokenizer(process.env.TINKER_TOKENIZER_DIR ?? 'models/qwen3-8b');
const rendererFactory = ChatTemplateRenderer.factory({ tokenizer, template: tokenizer.chatTemplate });
const backend = await TinkerBackend.connect({
  baseUrl: process.env.TINKER_BASE_URL!, apiKey: process.env.TINKER_API_KEY,
  baseModel: process.env.TINKER_BASE_MODEL ?? 'Qwen/Qwen3-8B', loraRank: 32, tokenizer, renderer: rendererFactory(), rendererFactory,
});
const result = await runRl({ config, backend, task: await openTask(config) });
console.log(`trained ${result.steps} steps; metrics in ${result.runDir}/metrics.jsonl`);
await backend.close();
