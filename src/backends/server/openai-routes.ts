/**
 * The OpenAI-compatible routes in front of a Backend: `POST /v1/chat/completions`
 * (chat-completions.ts: chat template with tools, tool calls parsed back, streaming),
 * `POST /v1/completions` (text-completions.ts), and `GET /v1/models` / `GET /v1/models/{id}` with
 * the one served name (any other model name is refused with 404 `model_not_found`). Every refusal
 * is one line in OpenAI's error shape naming what was wrong.
 */
import type { BackendHost } from './backend-host.js';
import { chatCompletions, type ResponseIds } from './chat-completions.js';
import type { GatewayHooks } from './gateway-hooks.js';
import { checkModel } from './openai-sampling.js';
import { textCompletions } from './text-completions.js';
import type { RouteAnswer, RouteContext } from './tinker-routes.js';

type Handler = (context: RouteContext) => Promise<RouteAnswer> | RouteAnswer;

/** Builds the `/v1` route table. */
export function openAiRoutes(host: BackendHost, modelName: string, gateway?: GatewayHooks): Map<string, Handler> {
  // Response ids unique within this server process; the start time tells restarts apart.
  const instance = Date.now().toString(36);
  let counter = 0;
  const ids: ResponseIds = { next: (prefix) => `${prefix}-${instance}${++counter}` };
  const model = { id: modelName, object: 'model', created: 0, owned_by: 'turnwise' };
  return new Map<string, Handler>([
    ['POST /v1/completions', textCompletions(host, ids)],
    ['POST /v1/chat/completions', chatCompletions(host, ids, gateway)],
    ['GET /v1/models', () => ({ status: 200, body: { object: 'list', data: [model] } })],
    [
      'GET /v1/models/:id',
      ({ param }) => {
        checkModel(param ?? '', modelName);
        return { status: 200, body: model };
      },
    ],
  ]);
}
