import { describe, expect, it } from 'vitest'
import { LogPages } from '@/lib/logBuffer'
import { logEvent } from './support/mockEventSource'

describe('LogPages', () => {
  it('holds lines by seq in pages, ignoring ones already held', () => {
    const pages = new LogPages(10, 5)
    expect(pages.add([logEvent(1), logEvent(2)])).toBe(2)
    expect(pages.add([logEvent(2), logEvent(25)])).toBe(1)
    expect(pages.get(2)?.text).toBe('line 2')
    expect(pages.get(25)?.seq).toBe(25)
    expect(pages.get(3)).toBeUndefined()
    expect(pages.total).toBe(25)
    expect(pages.lastSeq).toBe(25)
  })

  it('parses colours and progress frames once and keeps the plain text shown', () => {
    const pages = new LogPages()
    pages.add([logEvent(1, '\u001b[31mred\u001b[0m', 'stderr'), logEvent(2, '10%\r100%')])
    expect(pages.get(1)).toMatchObject({ seq: 1, stream: 'stderr', text: 'red' })
    expect(pages.get(1)?.segments[0]).toMatchObject({ text: 'red', fg: 1 })
    expect(pages.get(2)?.text).toBe('100%')
  })

  it('names the pages missing from a range of the known log, and where each starts to be missing', () => {
    const pages = new LogPages(10, 5)
    pages.grow(35)
    pages.add([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11].map((seq) => logEvent(seq)))
    expect(pages.missingPages(1, 100)).toEqual([1, 2, 3])
    expect(pages.missingPages(1, 10)).toEqual([])
    expect(pages.firstMissingIn(1)).toBe(12)
    expect(pages.firstMissingIn(3)).toBe(31)
    pages.add([31, 32, 33, 34, 35].map((seq) => logEvent(seq)))
    expect(pages.missingPages(31, 35)).toEqual([]) // the last page is complete at the end of the log
  })

  it('keeps at most maxPages pages, the ones asked to be kept first', () => {
    const pages = new LogPages(10, 2)
    pages.add([1, 11, 21, 31].map((seq) => logEvent(seq)))
    pages.trim([3])
    expect(pages.held).toBe(2)
    expect(pages.get(31)).toBeDefined()
  })
})
