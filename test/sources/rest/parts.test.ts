import { describe, expect, it } from 'vitest';
import { nextLink } from '../../../src/net/http-client.js';
import { parsePath, select } from '../../../src/util/json-path.js';
import { isUnset, parseTemplate, render, renderValue } from '../../../src/util/template.js';

describe('rest source paths', () => {
  const record = {
    id: 7,
    properties: { phone: '021 552 20 00', 'e-mail': 'a@example.ch', 'a.b': 'dotted' },
    phones: [{ number: '1', type: 'work' }, { number: '2' }],
    list: ['x', 'y'],
    nested: [[{ v: 1 }], [{ v: 2 }]],
    empty: null,
  };
  const at = (path: string) => select(record, parsePath(path));

  it('reads fields, lists, indexes and quoted names', () => {
    expect(at('id')).toEqual([7]);
    expect(at('properties.phone')).toEqual(['021 552 20 00']);
    expect(at('phones[*].number')).toEqual(['1', '2']);
    expect(at('phones.number')).toEqual(['1', '2']);
    expect(at('phones[1].number')).toEqual(['2']);
    expect(at('list')).toEqual(['x', 'y']);
    expect(at('properties["a.b"]')).toEqual(['dotted']);
    expect(at("properties['e-mail']")).toEqual(['a@example.ch']);
    expect(at('nested[*][*].v')).toEqual([1, 2]);
    expect(at('$.id')).toEqual([7]);
    expect(at('')).toEqual([record]);
    expect(at('missing.deeper')).toEqual([]);
    expect(at('empty')).toEqual([]);
  });

  it('rejects malformed paths with a short reason', () => {
    expect(() => parsePath('a..b')).toThrow('empty field name at position 3');
    expect(() => parsePath('a[1')).toThrow('"[" at position 2 is not closed');
    expect(() => parsePath('a[x]')).toThrow('"[x]" must be [*]');
    expect(() => parsePath('a[0]b')).toThrow('unexpected "b" at position 5');
  });
});

describe('rest source templates', () => {
  const vars = { e164: '+41 21', cursor: 'a"b\\c&d', limit: 50, since: undefined };

  it('encodes values for where they go', () => {
    const template = parseTemplate('/x/{e164}?c={cursor}&n={limit}');
    expect(render(template, vars, 'url')).toBe('/x/%2B41%2021?c=a%22b%5Cc%26d&n=50');
    expect(render(parseTemplate('{"c": "{cursor}", "n": {limit}}'), vars, 'json')).toBe(
      '{"c": "a\\"b\\\\c&d", "n": 50}',
    );
    expect(render(parseTemplate('Bearer {cursor}'), vars, 'raw')).toBe('Bearer a"b\\c&d');
  });

  it('leaves JSON and spaced braces alone; unset variables are empty or left out', () => {
    expect(parseTemplate('{"a": {"b": 1}} { x } {}').names).toEqual([]);
    expect(render(parseTemplate('since={since}'), vars, 'url')).toBe('since=');
    expect(isUnset(parseTemplate('{since}'), vars)).toBe(true);
    expect(isUnset(parseTemplate('x-{since}'), vars)).toBe(true);
    expect(isUnset(parseTemplate('{since}{limit}'), vars)).toBe(false);
    expect(isUnset(parseTemplate('fixed'), vars)).toBe(false);
  });

  it('a template that is one variable keeps a number a number', () => {
    expect(renderValue(parseTemplate('{limit}'), vars)).toBe(50);
    expect(renderValue(parseTemplate('{limit} '), vars)).toBe('50 ');
  });
});

describe('rest source Link header', () => {
  const base = new URL('https://api.example.com/v2/persons?page=1');

  it('finds rel="next" among several links and parameters, resolving relative targets', () => {
    const header =
      '<https://api.example.com/v2/persons?page=1>; rel="first", <https://api.example.com/v2/persons?page=3>; rel="last", ' +
      '</v2/persons?page=2&per_page=2>; title="x"; rel="prev next"';
    expect(nextLink(header, base)?.href).toBe('https://api.example.com/v2/persons?page=2&per_page=2');
    expect(nextLink('<https://api.example.com/p/2>; rel=next', base)?.href).toBe(
      'https://api.example.com/p/2',
    );
    expect(nextLink('<https://api.example.com/p/1>; rel="prev"', base)).toBeUndefined();
    expect(nextLink(null, base)).toBeUndefined();
  });
});
