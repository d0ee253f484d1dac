/**
 * Bringing a service checkpoint home: the archive a Tinker-protocol service offers for a
 * `tinker://<run>/(weights|sampler_weights)/<name>` path, fetched as the Python SDK's
 * `RestClient.get_checkpoint_archive_url` does (`GET /api/v1/training_runs/<run>/checkpoints/<kind>/<name>/archive`,
 * answered by a 302 to a signed URL or by 200 `{url, expires}`; 503 while the archive is being
 * built, retried), then the signed URL downloaded. SkyRL names sampler checkpoints without the
 * kind (`.../checkpoints/<name>/archive`): on a 404 that form is tried too. The API key goes to the
 * service only, never to a signed URL on another origin.
 */
import { ConfigError, RemoteError, errorMessage } from '../../errors.js';
import { errorDetail, sleep } from './transport.js';

/** Options of `downloadCheckpointArchive`. */
export interface ArchiveDownloadOptions {
  /** Service root, e.g. `https://tinker.thinkingmachines.dev/services/tinker-prod`. */
  baseUrl: string;
  apiKey?: string;
  /** `tinker://<run>/sampler_weights/<name>` (or `/weights/<name>`). */
  tinkerPath: string;
  /** Attempts while the service answers 503 (building the archive); default 6, as the SDK. */
  attempts?: number;
  /** Wait between those attempts; default 30 s, as the SDK. */
  retryDelayMs?: number;
}

/** The parts of a checkpoint path, as the SDK's `ParsedCheckpointTinkerPath`. */
export function parseTinkerPath(path: string): { run: string; kind: 'weights' | 'sampler_weights'; name: string } {
  const parts = path.startsWith('tinker://') ? path.slice('tinker://'.length).split('/') : [];
  if (parts.length !== 3 || (parts[1] !== 'weights' && parts[1] !== 'sampler_weights') || !parts[0] || !parts[2])
    throw new ConfigError(
      `checkpoint path ${JSON.stringify(path)} is not a Tinker checkpoint path; ` +
        'expected tinker://<run>/sampler_weights/<name> or tinker://<run>/weights/<name>',
    );
  return { run: parts[0], kind: parts[1], name: parts[2] };
}

/** Downloads a checkpoint's archive (tar or tar.gz bytes). */
export async function downloadCheckpointArchive(options: ArchiveDownloadOptions): Promise<Uint8Array> {
  const { run, kind, name } = parseTinkerPath(options.tinkerPath);
  const root = options.baseUrl.replace(/\/+$/, '');
  const prefix = `${root}/api/v1/training_runs/${encodeURIComponent(run)}/checkpoints`;
  const forms = [`${prefix}/${kind}/${encodeURIComponent(name)}/archive`];
  if (kind === 'sampler_weights') forms.push(`${prefix}/${encodeURIComponent(name)}/archive`);
  const headers = { accept: 'application/json', ...(options.apiKey ? { 'x-api-key': options.apiKey } : {}) };
  let signedUrl: string | undefined;
  let notFound = '';
  for (const url of forms) {
    const answer = await request(url, headers, options);
    if (answer.status === 404) {
      notFound = detailOf(await answer.text());
      continue;
    }
    if (answer.status >= 300 && answer.status < 400 && answer.headers.get('location'))
      signedUrl = new URL(answer.headers.get('location')!, url).href;
    else if (answer.status === 200) {
      const body = (await answer.json().catch(() => undefined)) as { url?: unknown } | undefined;
      if (typeof body?.url !== 'string')
        throw new RemoteError(`${url} answered 200 without a download url (expected {"url", "expires"})`);
      signedUrl = new URL(body.url, url).href;
    } else throw new RemoteError(`${url} answered ${answer.status}: ${await detail(answer)}`, answer.status);
    break;
  }
  if (!signedUrl)
    throw new RemoteError(
      `the service at ${root} has no archive of ${options.tinkerPath} (404: ${notFound || 'not found'}); ` +
        'archives exist for saved sampler weights (save_weights_for_sampler with a name)',
      404,
    );
  // The signed URL carries its own credential; the key is only sent back to the service itself.
  const sameOrigin = new URL(signedUrl).origin === new URL(root).origin;
  const download = await request(signedUrl, sameOrigin ? headers : {}, options);
  if (download.status !== 200)
    throw new RemoteError(
      `downloading the archive of ${options.tinkerPath} answered ${download.status}: ${await detail(download)}`,
      download.status,
    );
  return new Uint8Array(await download.arrayBuffer());
}

/** One GET without following redirects, retrying 503 (the service is still building the archive). */
async function request(
  url: string,
  headers: Record<string, string>,
  options: ArchiveDownloadOptions,
): Promise<Response> {
  const attempts = options.attempts ?? 6;
  for (let attempt = 1; ; attempt++) {
    let answer: Response;
    try {
      answer = await fetch(url, { headers, redirect: 'manual' });
    } catch (error) {
      throw new RemoteError(`cannot reach ${url}: ${errorMessage(error)}`);
    }
    if (answer.status !== 503 || attempt >= attempts) return answer;
    await answer.arrayBuffer();
    await sleep(options.retryDelayMs ?? 30_000);
  }
}

async function detail(answer: Response): Promise<string> {
  return detailOf(await answer.text());
}

/** The message of an error body (`detail`, `error`, ...), or its first characters. */
function detailOf(text: string): string {
  try {
    return errorDetail(JSON.parse(text));
  } catch {
    return text.slice(0, 300);
  }
}
