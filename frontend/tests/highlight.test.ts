import { describe, expect, it } from 'vitest'
import { parseAnsi } from '@/lib/ansi'
import { decorate, findLinks, regexMatcher, textMatcher } from '@/lib/highlight'

describe('matchers', () => {
  it('find case-insensitive, non-overlapping occurrences of text unless told to match case', () => {
    expect(textMatcher('error')?.('Error error ERROR')).toEqual([
      [0, 5],
      [6, 11],
      [12, 17],
    ])
    expect(textMatcher('aa')?.('aaaa')).toEqual([
      [0, 2],
      [2, 4],
    ])
    expect(textMatcher('Error', true)?.('Error error')).toEqual([[0, 5]])
    expect(textMatcher('')).toBeNull()
  })

  it('find regular expression matches, and none for a pattern the browser cannot read', () => {
    expect(regexMatcher('e\\w+r')?.('Error, eager')).toEqual([
      [0, 5],
      [7, 12],
    ])
    expect(regexMatcher('x*')?.('abc')).toEqual([]) // empty matches mark nothing
    expect(regexMatcher('(unclosed')).toBeNull()
  })
})

describe('findLinks', () => {
  it('finds http and https addresses only, without trailing punctuation', () => {
    expect(findLinks('see https://example.com/a?b=1, or http://x.test/y).')).toEqual([
      [4, 29, 'https://example.com/a?b=1'],
      [34, 49, 'http://x.test/y'],
    ])
    expect(findLinks('javascript:alert(1) ftp://x.test data:text/html,hi')).toEqual([])
  })
})

describe('decorate', () => {
  it('marks matches, also across colour boundaries, keeping each piece styled', () => {
    const segments = parseAnsi('build \u001b[31mfail\u001b[0med now')
    const marked = decorate(segments, textMatcher('failed'))
    expect(marked.map((s) => [s.text, s.mark, s.fg])).toEqual([
      ['build ', false, null],
      ['fail', true, 1],
      ['ed', true, null],
      [' now', false, null],
    ])
  })

  it('makes addresses links, marks included', () => {
    const marked = decorate(parseAnsi('docs: https://example.com/guide ok'), textMatcher('guide'))
    expect(marked.map((s) => [s.text, s.mark, s.href])).toEqual([
      ['docs: ', false, null],
      ['https://example.com/', false, 'https://example.com/guide'],
      ['guide', true, 'https://example.com/guide'],
      [' ok', false, null],
    ])
  })

  it('leaves text unchanged when nothing matches', () => {
    expect(decorate(parseAnsi('hello'), textMatcher('xyz'))).toEqual([
      expect.objectContaining({ text: 'hello', mark: false, href: null }),
    ])
  })
})
