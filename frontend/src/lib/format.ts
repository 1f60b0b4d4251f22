/** Formatting of times, durations and numbers for display (local time zone). */

/**
 * A value made on first use. Building an Intl formatter loads its locale data (several ms
 * each): made lazily, the formatters a page never uses cost nothing, and the others are not
 * all built in the one task that evaluates the app's code at start-up.
 */
export function lazy<T>(make: () => T): () => T {
  let value: T | undefined
  return () => (value ??= make())
}

const dateTimeFormat = lazy(() => new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'medium' }))
const relativeFormat = lazy(() => new Intl.RelativeTimeFormat(undefined, { numeric: 'auto' }))
const integerFormat = lazy(() => new Intl.NumberFormat())
const costFormat = lazy(
  () =>
    new Intl.NumberFormat(undefined, {
      style: 'currency',
      currency: 'USD',
      minimumFractionDigits: 2,
      maximumFractionDigits: 4,
    }),
)

/**
 * Builds the formatters most pages show. Run in a worker (see `localeData.ts`): their locale
 * data is loaded once per browser process, so the page's own first formatter is then cheap.
 */
export function warmUpFormatters(): void {
  integerFormat()
  dateTimeFormat()
  relativeFormat()
}

export function parseTime(iso: string | null | undefined): Date | null {
  if (!iso) return null
  const date = new Date(iso)
  return Number.isNaN(date.getTime()) ? null : date
}

export function formatDateTime(iso: string | null | undefined): string {
  const date = parseTime(iso)
  return date ? dateTimeFormat().format(date) : '—'
}

const RELATIVE_UNITS: [Intl.RelativeTimeFormatUnit, number][] = [
  ['year', 365 * 24 * 3600],
  ['month', 30 * 24 * 3600],
  ['week', 7 * 24 * 3600],
  ['day', 24 * 3600],
  ['hour', 3600],
  ['minute', 60],
  ['second', 1],
]

/** "3 minutes ago", "in 2 hours", "now". */
export function formatRelative(iso: string | null | undefined, now: Date): string {
  const date = parseTime(iso)
  if (!date) return ''
  const seconds = Math.round((date.getTime() - now.getTime()) / 1000)
  if (Math.abs(seconds) < 10) return relativeFormat().format(0, 'second')
  for (const [unit, size] of RELATIVE_UNITS) {
    if (Math.abs(seconds) >= size || unit === 'second') {
      return relativeFormat().format(Math.trunc(seconds / size), unit)
    }
  }
  return ''
}

/** "850 ms", "12.3 s", "4m 05s", "1h 02m 03s". */
export function formatDuration(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms) || ms < 0) return '—'
  if (ms < 1000) return `${Math.round(ms)} ms`
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`
  const total = Math.floor(ms / 1000)
  const hours = Math.floor(total / 3600)
  const minutes = Math.floor((total % 3600) / 60)
  const seconds = String(total % 60).padStart(2, '0')
  if (hours > 0) return `${hours}h ${String(minutes).padStart(2, '0')}m ${seconds}s`
  return `${minutes}m ${seconds}s`
}

export function formatInteger(value: number): string {
  return integerFormat().format(value)
}

export function formatCost(usd: number): string {
  return costFormat().format(usd)
}

/** An argv list as one shell-like line, quoting arguments that need it. */
export function formatArgv(argv: readonly string[]): string {
  return argv.map((arg) => (/^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`)).join(' ')
}
