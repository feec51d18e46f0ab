import { describe, expect, it } from '@jest/globals';
import { matches, parsePattern, parseTopic, TopicError } from '../../common/topic.js';

describe('topic grammar', () => {
  it('accepts concrete topics and returns their levels', () => {
    expect(parseTopic('acme/bank/account/opened/v1')).toEqual(['acme', 'bank', 'account', 'opened', 'v1']);
  });
  it.each([
    ['', 'empty'],
    ['a//b', 'empty level'],
    ['/a', 'empty level'],
    ['a/', 'empty level'],
    ['a/*/b', 'wildcard'],
    ['a/>', 'wildcard'],
    ['a/b*c', 'contains "*"'],
    ['a/b c', 'whitespace'],
    ['a/\u0000', 'control character'],
  ])('rejects topic %j (%s)', (t, why) => {
    expect(() => parseTopic(t)).toThrow(TopicError);
    expect(() => parseTopic(t)).toThrow(why);
  });
  it('rejects ">" anywhere but last in a pattern', () => {
    expect(() => parsePattern('a/>/b')).toThrow('">" may only be the last level');
    expect(parsePattern('a/*/>')).toEqual(['a', '*', '>']);
  });
  it.each([
    ['acme/bank/>', 'acme/bank/account/opened/v1', true],
    ['acme/bank/>', 'acme/bank', false],
    ['acme/*/account/>', 'acme/bank/account/opened', true],
    ['acme/*', 'acme/bank/account', false],
    ['acme/*', 'acme', false],
    ['acme/bank', 'acme/bank', true],
    ['>', 'x', true],
    ['*/*', 'a/b', true],
  ])('matches(%j, %j) = %s', (p, t, want) => {
    expect(matches(p, t)).toBe(want);
  });
});
