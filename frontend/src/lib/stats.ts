import type { DayStats } from '@/api/types'

/** The `count` UTC dates (YYYY-MM-DD) ending with `today`, oldest first. */
export function lastUtcDates(count: number, today: Date): string[] {
  const end = Date.UTC(today.getUTCFullYear(), today.getUTCMonth(), today.getUTCDate())
  return Array.from({ length: count }, (_, i) =>
    new Date(end - (count - 1 - i) * 86_400_000).toISOString().slice(0, 10),
  )
}

/**
 * One entry per day, oldest first. A full answer from the server is used as
 * it is; a sparse one is laid onto the last `count` UTC days with zeros.
 */
export function fillDays(days: readonly DayStats[], count: number, today: Date): DayStats[] {
  const sorted = [...days].sort((a, b) => a.date.localeCompare(b.date))
  if (sorted.length >= count) return sorted.slice(-count)
  const byDate = new Map(sorted.map((day) => [day.date, day]))
  return lastUtcDates(count, today).map((date) => byDate.get(date) ?? { date, total: 0, failed: 0 })
}
