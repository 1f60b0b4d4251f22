/**
 * How a run reads outside its page: its tab title, its favicon, its exit code,
 * and the executions list's filters as they travel in the URL (so a filtered
 * list can be bookmarked, shared and reloaded).
 */
import { EXECUTION_STATUSES, TRIGGER_TYPES, type ExecutionFilter, type ExecutionStatus } from '@/api/types'

/** Signal numbers as Linux numbers them; a process killed by one exits with its negative. */
const SIGNALS: Record<number, string> = {
  1: 'SIGHUP',
  2: 'SIGINT',
  3: 'SIGQUIT',
  4: 'SIGILL',
  6: 'SIGABRT',
  7: 'SIGBUS',
  8: 'SIGFPE',
  9: 'SIGKILL',
  11: 'SIGSEGV',
  13: 'SIGPIPE',
  14: 'SIGALRM',
  15: 'SIGTERM',
}

/** `0`, `1`, or for a run killed by a signal `SIGTERM (-15)`; `—` when there is none. */
export function formatExitCode(code: number | null | undefined): string {
  if (code === null || code === undefined) return '—'
  if (code >= 0) return String(code)
  const name = SIGNALS[-code]
  return name ? `${name} (${code})` : `signal ${-code} (${code})`
}

const STATUS_WORDS: Record<ExecutionStatus, string> = {
  waiting: 'Waiting',
  queued: 'Queued',
  running: 'Running',
  success: 'Succeeded',
  failed: 'Failed',
  timeout: 'Timed out',
  cancelled: 'Cancelled',
  interrupted: 'Interrupted',
  budget_exceeded: 'Over budget',
}

/** The tab title of a run's page: `#42 bot-name · Running`. */
export function runTitle(run: { run_number: number; bot_name: string; status: ExecutionStatus }): string {
  const number = run.run_number > 0 ? `#${run.run_number} ` : ''
  return `${number}${run.bot_name} · ${STATUS_WORDS[run.status]}`
}

const STATUS_COLOURS: Record<ExecutionStatus, string> = {
  waiting: '#8a94a6',
  queued: '#8a94a6',
  running: '#2f6fec',
  success: '#1f9d55',
  failed: '#d64545',
  timeout: '#d97706',
  cancelled: '#8a94a6',
  interrupted: '#d97706',
  budget_exceeded: '#d64545',
}

/** A favicon (SVG data URL) showing the status: a coloured disc, with a ring while it runs. */
export function statusFavicon(status: ExecutionStatus): string {
  const colour = STATUS_COLOURS[status]
  const ring = status === 'running' || status === 'queued' || status === 'waiting'
  const svg =
    "<svg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 16 16'>" +
    (ring ? `<circle cx='8' cy='8' r='7' fill='none' stroke='${colour}' stroke-width='2'/>` : '') +
    `<circle cx='8' cy='8' r='${ring ? 4 : 7}' fill='${colour}'/></svg>`
  return `data:image/svg+xml,${encodeURIComponent(svg)}`
}

/** What the executions page shows: the API's filters and a page number from 1. */
export interface ExecutionsQuery {
  status?: ExecutionStatus
  bot_id?: string
  trigger_type?: ExecutionFilter['trigger_type']
  since?: string
  until?: string
  q?: string
  page: number
}

type RawQuery = Record<string, string | null | (string | null)[] | undefined>

function single(value: RawQuery[string]): string | undefined {
  const first = Array.isArray(value) ? value[0] : value
  return first === null || first === undefined || first === '' ? undefined : first
}

const DATE = /^\d{4}-\d{2}-\d{2}$/

/** The page's query read from the URL; a value that is not one the API accepts is dropped. */
export function readExecutionsQuery(raw: RawQuery): ExecutionsQuery {
  const status = single(raw.status)
  const trigger = single(raw.trigger_type)
  const since = single(raw.since)
  const until = single(raw.until)
  const page = Number.parseInt(single(raw.page) ?? '1', 10)
  return {
    status: EXECUTION_STATUSES.find((known) => known === status),
    bot_id: single(raw.bot_id),
    trigger_type: TRIGGER_TYPES.find((known) => known === trigger),
    since: since && DATE.test(since) ? since : undefined,
    until: until && DATE.test(until) ? until : undefined,
    q: single(raw.q),
    page: Number.isFinite(page) && page > 0 ? page : 1,
  }
}

/** The URL query for `query`: only what is set, so a plain list has a plain URL. */
export function writeExecutionsQuery(query: ExecutionsQuery): Record<string, string> {
  const written: Record<string, string> = {}
  for (const key of ['status', 'bot_id', 'trigger_type', 'since', 'until', 'q'] as const) {
    const value = query[key]
    if (value) written[key] = value
  }
  if (query.page > 1) written.page = String(query.page)
  return written
}

/** Adds one day to a `YYYY-MM-DD` date: "until 1 March" includes that day. */
function nextDay(date: string): string {
  const moment = new Date(`${date}T00:00:00Z`)
  moment.setUTCDate(moment.getUTCDate() + 1)
  return moment.toISOString().slice(0, 10)
}

/** The API request for a page of `size` rows; dates are whole days (UTC), `until` inclusive. */
export function executionsFilter(query: ExecutionsQuery, size: number): ExecutionFilter {
  return {
    status: query.status,
    bot_id: query.bot_id,
    trigger_type: query.trigger_type,
    since: query.since,
    until: query.until ? nextDay(query.until) : undefined,
    q: query.q,
    limit: size,
    offset: (query.page - 1) * size,
  }
}
