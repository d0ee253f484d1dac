import { describe, expect, it } from 'vitest';
import { matchTemplate, templatePattern, templateSlots } from './template-pattern.js';

describe('template patterns', () => {
  it('reads the slots of a filling back, and refuses a question of another wording', () => {
    const template = 'Which {class} is described as follows: {definition}?';
    expect(templateSlots(template)).toEqual(['class', 'definition']);
    expect(matchTemplate(template, 'Which city is described as follows: a port (on the Rhine)?')).toEqual({
      class: 'city',
      definition: 'a port (on the Rhine)',
    });
    expect(matchTemplate(template, 'Name the city: a port?')).toBeUndefined();
  });

  it('treats the wording literally and ignores case', () => {
    expect(templatePattern("Name {country}'s capital (city).").test("name FRANCE's capital (city).")).toBe(true);
    expect(templatePattern("Name {country}'s capital (city).").test("Name France's capital city.")).toBe(false);
  });
});
