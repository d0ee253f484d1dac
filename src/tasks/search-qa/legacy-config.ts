/**
 * Run configs written before tasks had their own config section (turnwise 0.1: `data.tier`,
 * `data.dir`, `task.*`, `model`, `warmStart` at the top level, and a flat `advantage` section with
 * every estimator's options). The search-QA task was the only task then, so such a config is a
 * search-QA config: this moves its sections into `task` and keeps only the options of the
 * estimator it names. Values are kept as written, so the upgraded run trains exactly as before.
 */
import { ESTIMATORS } from '../../advantage/create-estimator.js';

type Json = Record<string, unknown>;

const isObject = (value: unknown): value is Json =>
  value !== null && typeof value === 'object' && !Array.isArray(value);

/** True for a config in the 0.1 layout. */
export function isLegacyConfig(raw: unknown): raw is Json {
  if (!isObject(raw)) return false;
  const data = raw.data;
  const task = raw.task;
  return (
    'warmStart' in raw ||
    'model' in raw ||
    (isObject(data) && ('tier' in data || 'dir' in data)) ||
    (isObject(task) && !('name' in task))
  );
}

/** The config of a 0.1 run in today's layout, or undefined when `raw` is not one. */
export function upgradeLegacyConfig(raw: unknown): Json | undefined {
  if (!isLegacyConfig(raw)) return undefined;
  const { model, warmStart, data, task, advantage, ...rest } = raw;
  const { tier, dir, ...splits } = isObject(data) ? data : {};
  const section: Json = {
    name: 'search-qa',
    ...(tier !== undefined ? { tier } : {}),
    ...(dir !== undefined ? { dir } : {}),
    ...(isObject(task) ? task : {}),
  };
  if (model !== undefined) section.model = model;
  if (warmStart !== undefined) section.warmStart = warmStart;
  const upgraded: Json = { ...rest, data: splits, task: section };
  if (isObject(advantage)) {
    const definition = ESTIMATORS.find((candidate) => candidate.kind === advantage.kind);
    const keep = definition ? ['kind', ...Object.keys(definition.options)] : Object.keys(advantage);
    upgraded.advantage = Object.fromEntries(Object.entries(advantage).filter(([key]) => keep.includes(key)));
  } else if (advantage !== undefined) upgraded.advantage = advantage;
  return upgraded;
}
