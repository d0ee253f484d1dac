// The demo's recipe (`npm run demo`) with the search-QA task in the Hermes `<tool_call>` format, as the
// gateway renders tools: the native ToolEnv agent that the AI SDK example (ai-sdk-agent.ts) is compared with.
//   npx turnwise train --config examples/search-qa-hermes.config.ts --eval
import { DEMO_PRESET } from 'turnwise/search-qa';

export default {
  ...DEMO_PRESET,
  name: 'search-qa-hermes',
  // The Hermes system message lists the tool's JSON Schema (about 200 tokens more than the
  // demo's short prompt): a 768-token context keeps the answer turn inside the model.
  task: {
    ...DEMO_PRESET.task,
    format: 'hermes',
    model: { ...(DEMO_PRESET.task as { model: object }).model, contextLength: 768 },
  },
};
