import { describe, expect, it } from 'vitest'
import { LogBuffer } from '@/lib/logBuffer'
import { logEvent } from './support/mockEventSource'

describe('LogBuffer', () => {
  it('keeps lines in seq order and ignores ones already held', () => {
    const buffer = new LogBuffer(100)
    expect(buffer.append([logEvent(1), logEvent(2)])).toBe(2)
    expect(buffer.append([logEvent(2), logEvent(3)])).toBe(1)
    expect(buffer.lines.map((line) => line.seq)).toEqual([1, 2, 3])
    expect(buffer.lastSeq).toBe(3)
  })

  it('parses colours once and keeps a plain copy for searching', () => {
    const buffer = new LogBuffer(10)
    buffer.append([logEvent(1, '\u001b[31mred\u001b[0m', 'stderr')])
    expect(buffer.lines[0]).toMatchObject({ seq: 1, stream: 'stderr', text: 'red' })
    expect(buffer.lines[0]?.segments[0]).toMatchObject({ text: 'red', fg: 1 })
  })

  it('drops the oldest lines beyond its capacity and counts them', () => {
    const buffer = new LogBuffer(3)
    buffer.append([1, 2, 3, 4, 5].map((seq) => logEvent(seq)))
    expect(buffer.lines.map((line) => line.seq)).toEqual([3, 4, 5])
    expect(buffer.dropped).toBe(2)
  })
})
