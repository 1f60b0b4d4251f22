import { describe, expect, it } from 'vitest'
import { parseAnsi } from '@/lib/ansi'
import { findMatches, markSegments } from '@/lib/highlight'

describe('findMatches', () => {
  it('finds case-insensitive, non-overlapping matches', () => {
    expect(findMatches('Error error ERROR', 'error')).toEqual([0, 6, 12])
    expect(findMatches('aaaa', 'aa')).toEqual([0, 2])
    expect(findMatches('abc', '')).toEqual([])
  })
})

describe('markSegments', () => {
  it('marks matches, also across colour boundaries, keeping each piece styled', () => {
    const segments = parseAnsi('build \u001b[31mfail\u001b[0med now')
    const marked = markSegments(segments, 'failed')
    expect(marked.map((s) => [s.text, s.mark, s.fg])).toEqual([
      ['build ', false, null],
      ['fail', true, 1],
      ['ed', true, null],
      [' now', false, null],
    ])
  })

  it('leaves text unchanged when nothing matches', () => {
    const marked = markSegments(parseAnsi('hello'), 'xyz')
    expect(marked).toEqual([expect.objectContaining({ text: 'hello', mark: false })])
  })
})
