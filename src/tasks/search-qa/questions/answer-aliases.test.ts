import { describe, expect, it } from 'vitest';
import {
  anthemAliases,
  capitalAliases,
  currencyAliases,
  highestPointAliases,
  holidayDateAliases,
  internetCodeAliases,
} from './answer-aliases.js';
import { discovererAliases } from './element-questions.js';

describe('answer aliases from source strings', () => {
  it('takes the capital before notes and keeps Washington without DC', () => {
    expect(capitalAliases('Mbabane; note - Lobamba is the royal and legislative capital')).toEqual(['Mbabane']);
    expect(capitalAliases('Washington, DC')).toEqual(['Washington, DC', 'Washington']);
    expect(capitalAliases('Jerusalem: note - ...')).toEqual(['Jerusalem']);
  });

  it('keeps the quoted anthem title and its translation', () => {
    expect(anthemAliases('"La Marseillaise" (The Song of Marseille)')).toEqual([
      'La Marseillaise',
      'The Song of Marseille',
    ]);
    expect(anthemAliases('"God Save the Queen"')).toEqual(['God Save the Queen']);
  });

  it('strips the elevation from the highest point and keeps the parenthetical name', () => {
    expect(highestPointAliases('Zugspitze 2,963 m')).toEqual(['Zugspitze']);
    expect(highestPointAliases('Denali (Mount McKinley) 6,190 m (highest point in North America)')).toEqual([
      'Denali',
      'Mount McKinley',
    ]);
    expect(highestPointAliases('unnamed elevation on Banaba 81 m')).toEqual([]);
  });

  it('finds the first two-letter domain', () => {
    expect(internetCodeAliases('metropolitan France - .fr; French Guiana - .gf')).toEqual(['.fr']);
    expect(internetCodeAliases('none')).toEqual([]);
  });

  it('reads the currency with singular and ISO code, and refuses US dollar lines', () => {
    expect(currencyAliases('euros (EUR) per US dollar -; 0.7489 (2014 est.)')).toEqual(['euros', 'euro', 'EUR']);
    expect(currencyAliases('emalangeni per US dollar -; 10.6 (2014 est.)')).toEqual(['emalangeni']);
    expect(currencyAliases('the US dollar is used')).toEqual([]);
    expect(currencyAliases('Communaute Financiere Africaine francs (XOF) per US dollar')).toContain('CFA franc');
  });

  it('gives the holiday date in both orders', () => {
    expect(holidayDateAliases('Fete de la Federation, 14 July (1790); note - ...')).toEqual(['14 July', 'July 14']);
    expect(holidayDateAliases('the UK does not celebrate one particular national holiday')).toEqual([]);
  });

  it('splits discoverers into people with surnames, keeps institutions whole, skips eras and places', () => {
    expect(discovererAliases('Pierre Curie and Marie Curie')).toEqual(['Pierre Curie', 'Marie Curie', 'Curie']);
    expect(discovererAliases('William Cruickshank (chemist)')).toEqual(['William Cruickshank', 'Cruickshank']);
    expect(discovererAliases('Lawrence Berkeley National Laboratory')).toEqual([
      'Lawrence Berkeley National Laboratory',
    ]);
    expect(discovererAliases('5000 BC')).toEqual([]);
    expect(discovererAliases('Middle East')).toEqual([]);
  });
});
