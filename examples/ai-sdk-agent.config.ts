// The demo's recipe for the AI SDK agent (ai-sdk-agent.ts): the same questions, base and budget as
// its native twin search-qa-hermes.config.ts.
//   npx turnwise train --task examples/ai-sdk-agent.ts --config examples/ai-sdk-agent.config.ts --eval
import { DEMO_PRESET } from 'turnwise/search-qa';

export default {
  ...DEMO_PRESET,
  name: 'ai-sdk-agent',
  // The Hermes system message lists the tool's JSON Schema (about 200 tokens more than the
  // demo's short prompt): a 768-token context keeps the answer turn inside the model.
  task: {
    ...DEMO_PRESET.task,
    name: 'ai-sdk-search-qa',
    format: 'hermes',
    model: { ...(DEMO_PRESET.task as { model: object }).model, contextLength: 768 },
  },
};
