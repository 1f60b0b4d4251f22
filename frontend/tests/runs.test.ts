import { describe, expect, it } from 'vitest'
import {
  executionsFilter,
  formatExitCode,
  readExecutionsQuery,
  runTitle,
  statusFavicon,
  writeExecutionsQuery,
} from '@/lib/runs'

describe('exit codes', () => {
  it('show a run killed by a signal as the signal with its code', () => {
    expect(formatExitCode(-15)).toBe('SIGTERM (-15)')
    expect(formatExitCode(-9)).toBe('SIGKILL (-9)')
    expect(formatExitCode(-64)).toBe('signal 64 (-64)')
  })

  it('show ordinary codes as they are and a missing one as a dash', () => {
    expect(formatExitCode(0)).toBe('0')
    expect(formatExitCode(2)).toBe('2')
    expect(formatExitCode(null)).toBe('—')
  })
})

describe('a run in a tab', () => {
  it('is titled with its number, its bot and its status in words', () => {
    expect(runTitle({ run_number: 42, bot_name: 'reviewer', status: 'running' })).toBe('#42 reviewer · Running')
    expect(runTitle({ run_number: 0, bot_name: 'old', status: 'timeout' })).toBe('old · Timed out')
  })

  it('gets a favicon of its own per status', () => {
    const icons = new Set(['running', 'success', 'failed'].map((status) => statusFavicon(status as 'running')))
    expect(icons.size).toBe(3)
    expect(statusFavicon('failed')).toMatch(/^data:image\/svg\+xml,/)
  })
})

describe('the executions list in the URL', () => {
  it('reads known filters and drops values the API would refuse', () => {
    expect(
      readExecutionsQuery({ status: 'failed', trigger_type: 'email', since: '2026-01-02', until: 'soon', q: 'fix', page: '3' }),
    ).toEqual({
      status: 'failed',
      bot_id: undefined,
      trigger_type: undefined,
      since: '2026-01-02',
      until: undefined,
      q: 'fix',
      page: 3,
    })
    expect(readExecutionsQuery({ page: '-2' }).page).toBe(1)
  })

  it('writes only what is set, so a plain list has a plain URL, and round-trips', () => {
    expect(writeExecutionsQuery({ page: 1 })).toEqual({})
    const query = { status: 'success' as const, bot_id: 'b1', q: 'deploy', page: 2 }
    expect(readExecutionsQuery(writeExecutionsQuery(query))).toMatchObject(query)
  })

  it('asks the API for the page as an offset and includes the whole last day', () => {
    expect(executionsFilter({ since: '2026-02-28', until: '2026-02-28', page: 3 }, 25)).toMatchObject({
      since: '2026-02-28',
      until: '2026-03-01',
      limit: 25,
      offset: 50,
    })
  })
})
