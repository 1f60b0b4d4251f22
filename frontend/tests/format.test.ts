import { describe, expect, it } from 'vitest'
import { formatArgv, formatDuration, formatRelative } from '@/lib/format'
import { fillDays, lastUtcDates } from '@/lib/stats'

describe('formatDuration', () => {
  it('scales from milliseconds to hours', () => {
    expect(formatDuration(850)).toBe('850 ms')
    expect(formatDuration(12_340)).toBe('12.3 s')
    expect(formatDuration(245_000)).toBe('4m 05s')
    expect(formatDuration(3_723_000)).toBe('1h 02m 03s')
    expect(formatDuration(null)).toBe('—')
  })
})

describe('formatRelative', () => {
  const now = new Date('2026-11-24T12:00:00Z')

  const rtf = new Intl.RelativeTimeFormat(undefined, { numeric: 'auto' })

  it('describes past and future times in the largest fitting unit', () => {
    expect(formatRelative('2026-11-24T11:57:00Z', now)).toBe(rtf.format(-3, 'minute'))
    expect(formatRelative('2026-11-24T14:00:00Z', now)).toBe(rtf.format(2, 'hour'))
    expect(formatRelative('2026-11-21T12:00:00Z', now)).toBe(rtf.format(-3, 'day'))
    expect(formatRelative('2026-11-24T12:00:03Z', now)).toBe(rtf.format(0, 'second'))
    expect(formatRelative(null, now)).toBe('')
  })
})

describe('formatArgv', () => {
  it('quotes arguments that a shell would split', () => {
    expect(formatArgv(['claude', '-p', 'fix the bug', "it's"])).toBe(`claude -p 'fix the bug' 'it'\\''s'`)
  })
})

describe('stats days', () => {
  const today = new Date('2026-11-24T23:30:00Z')

  it('lists the last UTC dates, oldest first', () => {
    expect(lastUtcDates(3, today)).toEqual(['2026-11-22', '2026-11-23', '2026-11-24'])
  })

  it('fills days the server left out with zeros', () => {
    const days = fillDays([{ date: '2026-11-23', total: 4, failed: 1 }], 3, today)
    expect(days).toEqual([
      { date: '2026-11-22', total: 0, failed: 0 },
      { date: '2026-11-23', total: 4, failed: 1 },
      { date: '2026-11-24', total: 0, failed: 0 },
    ])
  })

  it('uses a complete answer as it is', () => {
    const full = [
      { date: '2026-11-25', total: 1, failed: 0 },
      { date: '2026-11-24', total: 2, failed: 1 },
    ]
    expect(fillDays(full, 2, today).map((day) => day.date)).toEqual(['2026-11-24', '2026-11-25'])
  })
})
