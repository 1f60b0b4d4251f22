/**
 * The one way this app talks to the Agented server: every HTTP request goes
 * through `request()` and every EventSource is opened by `openEventSource()`.
 * Authentication belongs here and only here: `setApiKey()` adds the
 * `X-API-Key` header to every request, and `streamUrl()` is the single place
 * where a signed short-lived stream token would be added to SSE URLs.
 */
import type {
  Bot,
  BotInput,
  CancelResult,
  DayStats,
  ErrorBody,
  ExecutionDetail,
  ExecutionFilter,
  ExecutionPage,
  LogQuery,
  Page,
  PromptPreview,
  Readiness,
  Retry,
  RunResult,
  SchedulerJob,
} from './types'

/** An error answered by the server (or status 0 when it could not be reached). */
export class ApiError extends Error {
  readonly status: number
  /** The request field the error is about, when the server names one. */
  readonly field: string | null
  /** The whole error body, for extra detail such as a running `execution_id`. */
  readonly body: ErrorBody | null

  constructor(status: number, message: string, field: string | null = null, body: ErrorBody | null = null) {
    super(message)
    this.name = 'ApiError'
    this.status = status
    this.field = field
    this.body = body
  }
}

export type QueryValue = string | number | boolean | null | undefined
export type Query = Record<string, QueryValue>

let apiKey: string | null = null

/** Sets (or clears with `null`) the API key sent with every request. */
export function setApiKey(key: string | null): void {
  apiKey = key
}

function authHeaders(): Record<string, string> {
  return apiKey ? { 'X-API-Key': apiKey } : {}
}

/** Builds a same-origin URL; query values that are null, undefined or '' are left out. */
export function buildUrl(path: string, query: Query = {}): string {
  const params = new URLSearchParams()
  for (const [key, value] of Object.entries(query)) {
    if (value !== null && value !== undefined && value !== '') params.append(key, String(value))
  }
  const search = params.toString()
  return search ? `${path}?${search}` : path
}

const encode = encodeURIComponent

function isErrorBody(value: unknown): value is ErrorBody {
  return typeof value === 'object' && value !== null && typeof (value as ErrorBody).error === 'string'
}

async function readJson(response: Response): Promise<unknown> {
  const text = await response.text()
  if (!text) return null
  try {
    return JSON.parse(text) as unknown
  } catch {
    return null
  }
}

/** Maps a non-2xx response to an ApiError carrying the server's message and field. */
async function toApiError(response: Response): Promise<ApiError> {
  const body = await readJson(response)
  if (isErrorBody(body)) {
    return new ApiError(response.status, body.error, typeof body.field === 'string' ? body.field : null, body)
  }
  const reason = response.statusText ? ` ${response.statusText}` : ''
  return new ApiError(response.status, `HTTP ${response.status}${reason}`)
}

interface RequestOptions {
  query?: Query
  body?: unknown
  signal?: AbortSignal
}

async function request<T>(method: string, path: string, options: RequestOptions = {}): Promise<T> {
  const headers: Record<string, string> = { Accept: 'application/json', ...authHeaders() }
  const init: RequestInit = { method, headers }
  if (options.body !== undefined) {
    headers['Content-Type'] = 'application/json'
    init.body = JSON.stringify(options.body)
  }
  if (options.signal) init.signal = options.signal
  let response: Response
  try {
    response = await fetch(buildUrl(path, options.query), init)
  } catch (error) {
    if (error instanceof DOMException && error.name === 'AbortError') throw error
    throw new ApiError(0, 'Cannot reach the Agented server')
  }
  if (!response.ok) throw await toApiError(response)
  if (response.status === 204) return undefined as T
  return (await readJson(response)) as T
}

/** The URL to open an EventSource on. Async so that it can fetch a stream token first. */
export async function streamUrl(path: string, query: Query = {}): Promise<string> {
  return buildUrl(path, query)
}

/** Opens an EventSource on an API path; the only place the app creates one. */
export async function openEventSource(path: string, query: Query = {}): Promise<EventSource> {
  return new EventSource(await streamUrl(path, query))
}

export function getReadiness(signal?: AbortSignal): Promise<Readiness> {
  return request('GET', '/health/readiness', { signal })
}

export async function listBots(signal?: AbortSignal): Promise<Bot[]> {
  const result = await request<{ triggers: Bot[] }>('GET', '/admin/triggers', { signal })
  return result.triggers
}

export function getBot(id: string, signal?: AbortSignal): Promise<Bot> {
  return request('GET', `/admin/triggers/${encode(id)}`, { signal })
}

export function createBot(input: BotInput): Promise<Bot> {
  return request('POST', '/admin/triggers', { body: input })
}

export function updateBot(id: string, input: Partial<BotInput>): Promise<Bot> {
  return request('PUT', `/admin/triggers/${encode(id)}`, { body: input })
}

export function deleteBot(id: string): Promise<void> {
  return request('DELETE', `/admin/triggers/${encode(id)}`)
}

export function previewPrompt(id: string, message: string): Promise<PromptPreview> {
  return request('POST', `/admin/triggers/${encode(id)}/preview-prompt`, { body: { message } })
}

export function runBot(id: string, message: string): Promise<RunResult> {
  return request('POST', `/admin/triggers/${encode(id)}/run`, { body: { message } })
}

export function listExecutions(filter: ExecutionFilter = {}, signal?: AbortSignal): Promise<ExecutionPage> {
  return request('GET', '/admin/executions', { query: { ...filter }, signal })
}

export function listBotExecutions(id: string, page: Page = {}, signal?: AbortSignal): Promise<ExecutionPage> {
  return request('GET', `/admin/triggers/${encode(id)}/executions`, { query: { ...page }, signal })
}

export function getExecution(id: string, logs: LogQuery = {}, signal?: AbortSignal): Promise<ExecutionDetail> {
  return request('GET', `/admin/executions/${encode(id)}`, { query: { ...logs }, signal })
}

export function cancelExecution(id: string): Promise<CancelResult> {
  return request('POST', `/admin/executions/${encode(id)}/cancel`)
}

export function executionStreamPath(id: string): string {
  return `/admin/executions/${encode(id)}/stream`
}

export async function getExecutionStats(days: number, signal?: AbortSignal): Promise<DayStats[]> {
  const result = await request<{ days: DayStats[] }>('GET', '/admin/executions/stats', { query: { days }, signal })
  return result.days
}

export async function listRetries(signal?: AbortSignal): Promise<Retry[]> {
  const result = await request<{ retries: Retry[] }>('GET', '/admin/retries', { signal })
  return result.retries
}

export function deleteRetry(id: string): Promise<void> {
  return request('DELETE', `/admin/retries/${encode(id)}`)
}

export async function listSchedulerJobs(signal?: AbortSignal): Promise<SchedulerJob[]> {
  const result = await request<{ jobs: SchedulerJob[] }>('GET', '/admin/scheduler/jobs', { signal })
  return result.jobs
}
