/** Turning the monitoring figures into what the Monitoring page shows. */
import type { HistoryBucket, HistoryPoint } from '@/api/types'
import type { Bar } from './chart'

/** The ranges the page offers, each with a bucket that keeps the chart readable. */
export const HISTORY_RANGES = [
  { id: '24h', label: 'Last 24 hours', hours: 24, bucket: '1h' },
  { id: '7d', label: 'Last 7 days', hours: 168, bucket: '6h' },
  { id: '30d', label: 'Last 30 days', hours: 720, bucket: '1d' },
] as const satisfies readonly { id: string; label: string; hours: number; bucket: HistoryBucket }[]

const dayLabel = new Intl.DateTimeFormat(undefined, { month: 'short', day: 'numeric', timeZone: 'UTC' })
const timeLabel = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit' })
const dayAndTimeLabel = new Intl.DateTimeFormat(undefined, { weekday: 'short', hour: '2-digit', minute: '2-digit' })

/** A bucket's start as its axis label: the UTC day for day buckets, else local time. */
export function bucketLabel(start: string, bucket: HistoryBucket): string {
  const date = new Date(start)
  if (bucket === '1d') return dayLabel.format(date)
  if (bucket === '6h') return dayAndTimeLabel.format(date)
  return timeLabel.format(date)
}

type Metric = 'runs' | 'failures' | 'rate_limits' | 'tokens' | 'cost_usd'

/** The history as bars of `metric`, with `part` (e.g. failures of runs) drawn over each. */
export function historyBars(points: readonly HistoryPoint[], bucket: HistoryBucket, metric: Metric, part?: Metric): Bar[] {
  return points.map((point) => ({
    key: point.start,
    label: bucketLabel(point.start, bucket),
    value: point[metric],
    ...(part ? { part: point[part] } : {}),
  }))
}

/** A share as a whole percentage, or a dash when there was nothing to judge. */
export function percent(rate: number | null): string {
  return rate === null ? '—' : `${Math.round(rate * 100)}%`
}

/** US dollars with cents, more digits below a cent so small costs do not read as zero. */
export function usd(amount: number): string {
  const digits = amount !== 0 && Math.abs(amount) < 0.01 ? 4 : 2
  return `$${amount.toFixed(digits)}`
}

const compact = new Intl.NumberFormat('en', { notation: 'compact', maximumFractionDigits: 1 })

/** Token counts short: 950, 12.3K, 4.1M. */
export function tokens(count: number): string {
  return compact.format(count)
}

/** `used`, and against `limit` when one is set: "$1.20 of $5.00". */
export function againstLimit(used: number, limit: number | null | undefined, format: (value: number) => string): string {
  return limit === null || limit === undefined ? format(used) : `${format(used)} of ${format(limit)}`
}
