import { describe, expect, it } from 'vitest';
import {
  adjectiveAliases,
  callingCodeAliases,
  heldOutElementQuestions,
  independenceAliases,
  nationalSymbolAliases,
} from './held-out-kinds.js';

describe('held-out kinds', () => {
  it('reads answers and aliases from the Factbook strings', () => {
    expect(independenceAliases('5 July 1962 (from France)')).toEqual(['1962', '5 July 1962', 'July 5, 1962']);
    expect(independenceAliases('1821 (from Spain); note: ...')).toEqual(['1821']);
    expect(independenceAliases('none')).toEqual([]);
    expect(adjectiveAliases('Motswana (singular), Batswana (plural)')).toEqual(['Motswana', 'Batswana']);
    expect(callingCodeAliases('country code - 1-876; landing point for the ...')).toEqual(['1-876', '+1-876']);
    expect(callingCodeAliases('microwave radio relay')).toEqual([]);
    expect(nationalSymbolAliases('star and crescent, fennec fox; national colors: green, white, red')).toEqual([
      'star and crescent',
      'fennec fox',
    ]);
  });

  it('asks element kinds no training template asks, and none for an unknown category', () => {
    const drafts = heldOutElementQuestions([
      { name: 'Fluorine', symbol: 'F', number: 9, category: 'diatomic nonmetal', period: 2, summary: '' },
      { name: 'Ununennium', symbol: 'Uue', number: 119, category: 'unknown, predicted alkali metal', summary: '' },
    ]);
    expect(drafts.map((draft) => [draft.key, draft.question, draft.answers])).toEqual([
      ['element_from_symbol:9', 'Which chemical element has the symbol F?', ['Fluorine']],
      ['element_category:9', 'What category of chemical element is fluorine?', ['diatomic nonmetal']],
      ['element_period:9', 'In which period of the periodic table is fluorine?', ['2']],
      ['element_from_symbol:119', 'Which chemical element has the symbol Uue?', ['Ununennium']],
    ]);
  });
});
