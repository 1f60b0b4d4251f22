/**
 * Line links and line times of the log viewer: `#L123` and `#L10-L20` in the
 * address (as GitHub writes them), and a line's time either as the clock
 * showed it or as the time since the run started.
 */

import { lazy } from './format'

export interface LineRange {
  from: number
  to: number
}

/** The line range a location hash names (`#L12`, `#L10-L20`, either order), or null. */
export function parseLineHash(hash: string): LineRange | null {
  const match = /^#L(\d+)(?:-L?(\d+))?$/.exec(hash)
  if (!match) return null
  const a = Number(match[1])
  const b = match[2] === undefined ? a : Number(match[2])
  if (!(a >= 1 && b >= 1)) return null
  return { from: Math.min(a, b), to: Math.max(a, b) }
}

export function lineHash(range: LineRange): string {
  return range.from === range.to ? `#L${range.from}` : `#L${range.from}-L${range.to}`
}

export type TimestampMode = 'off' | 'absolute' | 'relative'

// Made when times are first shown (they are off by default).
const clock = lazy(
  () =>
    new Intl.DateTimeFormat(undefined, {
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
      fractionalSecondDigits: 3,
      hourCycle: 'h23',
    }),
)

const pad = (value: number, width = 2): string => String(value).padStart(width, '0')

/** "+0:02.345", "+1:02:03.004": the time since `start` (both ISO-8601), never negative. */
export function sinceStart(timestamp: string, start: string): string {
  const ms = Math.max(0, Date.parse(timestamp) - Date.parse(start))
  if (!Number.isFinite(ms)) return ''
  const hours = Math.floor(ms / 3_600_000)
  const minutes = Math.floor(ms / 60_000) % 60
  const seconds = Math.floor(ms / 1000) % 60
  const rest = `${pad(seconds)}.${pad(ms % 1000, 3)}`
  return hours > 0 ? `+${hours}:${pad(minutes)}:${rest}` : `+${minutes}:${rest}`
}

/** A line's time as the mode shows it (null when times are off). */
export function lineTime(mode: TimestampMode, timestamp: string, start: string | null): string | null {
  if (mode === 'off') return null
  if (mode === 'relative' && start) return sinceStart(timestamp, start)
  const date = new Date(timestamp)
  return Number.isNaN(date.getTime()) ? '' : clock().format(date)
}
