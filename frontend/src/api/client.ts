/**
 * The one way this app talks to the Agented server: every HTTP request goes
 * through `request()` and every EventSource is opened by `openEventSource()`.
 *
 * Authentication belongs here and only here. The API key is kept in
 * localStorage (so a reload keeps the session) and sent as `X-API-Key` on
 * every request. A 401 answered to a request sent with the key in use forgets
 * the key and tells `onSessionEnd()` listeners, which show the sign-in screen;
 * `checkApiKey()` tries a candidate key without that. EventSource cannot send
 * headers, so `streamUrl()` asks for a short-lived stream token before every
 * (re)connect and puts it in the URL.
 */
import type {
  Account,
  AccountInput,
  AccountUpdate,
  Agent,
  AgentInput,
  AgentMessage,
  AgentUpdate,
  Bot,
  BotInput,
  BotUpdate,
  CancelResult,
  ConversationPage,
  ConversationQuery,
  DayStats,
  DeliveryRecord,
  ErrorBody,
  ExecutionDetail,
  ExecutionFilter,
  ExecutionPage,
  History,
  HistoryBucket,
  InstalledBackend,
  InboxQuery,
  LogQuery,
  LogSearchFirst,
  LogSearchFirstQuery,
  LogSearchQuery,
  LogSearchResult,
  MessageInput,
  MessagesSent,
  MonitoringStatus,
  Page,
  PromptPreview,
  Readiness,
  RerunInput,
  Retry,
  RunResult,
  SchedulerJob,
  StreamToken,
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

/** Where the API key is kept between visits. */
export const API_KEY_STORAGE = 'agented.apiKey'

function readStoredKey(): string | null {
  try {
    return localStorage.getItem(API_KEY_STORAGE)
  } catch {
    return null
  }
}

function writeStoredKey(key: string | null): void {
  try {
    if (key === null) localStorage.removeItem(API_KEY_STORAGE)
    else localStorage.setItem(API_KEY_STORAGE, key)
  } catch {
    // Storage is unavailable (e.g. blocked by the browser): the key lasts as long as the page.
  }
}

let apiKey: string | null = readStoredKey()

/** The API key in use, or null when there is none. */
export function getApiKey(): string | null {
  return apiKey
}

/** Sets (or clears with `null`) the API key sent with every request, and keeps it for the next visit. */
export function setApiKey(key: string | null): void {
  apiKey = key
  writeStoredKey(key)
}

/** Why a session ended: the user signed out, or the server refused the key (401). */
export type SessionEndReason = 'signed-out' | 'rejected'
type SessionEndListener = (reason: SessionEndReason) => void

const sessionEndListeners = new Set<SessionEndListener>()

/** Calls `listener` whenever the key is dropped; returns the function that stops that. */
export function onSessionEnd(listener: SessionEndListener): () => void {
  sessionEndListeners.add(listener)
  return () => sessionEndListeners.delete(listener)
}

function endSession(reason: SessionEndReason): void {
  setApiKey(null)
  for (const listener of sessionEndListeners) listener(reason)
}

/** Forgets the API key; the app shows the sign-in screen. */
export function signOut(): void {
  endSession('signed-out')
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
  /** Send this key (null: none) instead of the one in use; a 401 then leaves the session alone. */
  key?: string | null
}

async function request<T>(method: string, path: string, options: RequestOptions = {}): Promise<T> {
  const sentKey = options.key === undefined ? apiKey : options.key
  const headers: Record<string, string> = { Accept: 'application/json' }
  if (sentKey) headers['X-API-Key'] = sentKey
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
  if (!response.ok) {
    const error = await toApiError(response)
    // Only the key in use can end the session: not a candidate, nor a key replaced meanwhile.
    if (error.status === 401 && options.key === undefined && sentKey === apiKey) endSession('rejected')
    throw error
  }
  if (response.status === 204) return undefined as T
  return (await readJson(response)) as T
}

/** A short-lived token that opens the SSE stream at `path` (and nothing else). */
export function createStreamToken(path: string): Promise<StreamToken> {
  return request('POST', '/admin/stream-tokens', { body: { path } })
}

/** The URL to open an EventSource on, with a stream token fetched just now. */
export async function streamUrl(path: string, query: Query = {}): Promise<string> {
  const { token } = await createStreamToken(path)
  return buildUrl(path, { token, ...query })
}

/** Opens an EventSource on an API path; the only place the app creates one. */
export async function openEventSource(path: string, query: Query = {}): Promise<EventSource> {
  return new EventSource(await streamUrl(path, query))
}

export function getReadiness(signal?: AbortSignal): Promise<Readiness> {
  return request('GET', '/health/readiness', { signal })
}

/** Whether the server accepts `key`: true, false on 401; any other failure is thrown. */
export async function checkApiKey(key: string): Promise<boolean> {
  try {
    await request('GET', '/admin/triggers', { key })
    return true
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) return false
    throw error
  }
}

/**
 * Whether the server needs no key at all (AGENTED_AUTH=disabled): readiness
 * asked without a key then carries the details it keeps for authenticated
 * callers. Unlike an admin call, this never counts as a failed sign-in.
 */
export async function isOpenWithoutKey(): Promise<boolean> {
  const readiness = await request<Readiness>('GET', '/health/readiness', { key: null })
  return 'database' in readiness
}

/** Every backend type, with whether its CLI is installed on the server (the server caches this). */
export async function listBackends(signal?: AbortSignal): Promise<InstalledBackend[]> {
  const result = await request<{ backends: InstalledBackend[] }>('GET', '/admin/backends', { signal })
  return result.backends
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

export function updateBot(id: string, input: BotUpdate): Promise<Bot> {
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

/** A page of the run's conversation, derived from its stored lines after `after_seq`. */
export function getConversation(
  id: string,
  query: ConversationQuery = {},
  signal?: AbortSignal,
): Promise<ConversationPage> {
  return request('GET', `/admin/executions/${encode(id)}/conversation`, { query: { ...query }, signal })
}

export function searchExecutionLog(id: string, query: LogSearchQuery, signal?: AbortSignal): Promise<LogSearchResult> {
  return request('GET', `/admin/executions/${encode(id)}/log/search`, { query: { ...query }, signal })
}

/** The first match at or after `from_seq` (else the first of the log), without waiting for a count. */
export function firstLogMatch(id: string, query: LogSearchFirstQuery, signal?: AbortSignal): Promise<LogSearchFirst> {
  return request('GET', `/admin/executions/${encode(id)}/log/search/first`, { query: { ...query }, signal })
}

/**
 * Downloads the raw log (`log.txt`, streamed by the server) through a plain link,
 * so the browser saves it as it arrives and never holds it. A link cannot send
 * the API key, so it carries a stream token issued for this one log path.
 */
export async function downloadExecutionLog(id: string, timestamps: boolean): Promise<void> {
  const link = document.createElement('a')
  link.href = await streamUrl(`/admin/executions/${encode(id)}/log.txt`, { timestamps: timestamps || null })
  link.download = '' // a download, not a navigation; the server's Content-Disposition names the file
  link.click()
}

export function cancelExecution(id: string): Promise<CancelResult> {
  return request('POST', `/admin/executions/${encode(id)}/cancel`)
}

export function rerunExecution(id: string, input: RerunInput = {}): Promise<RunResult> {
  return request('POST', `/admin/executions/${encode(id)}/rerun`, { body: input })
}

export async function listBotDeliveries(id: string, signal?: AbortSignal): Promise<DeliveryRecord[]> {
  const result = await request<{ deliveries: DeliveryRecord[] }>('GET', `/admin/bots/${encode(id)}/deliveries`, { signal })
  return result.deliveries
}

/** Deliveries no bot was concerned by: unmatched, refused before a bot was known, or GitHub events that fire nothing. */
export async function listUnmatchedDeliveries(signal?: AbortSignal): Promise<DeliveryRecord[]> {
  const result = await request<{ deliveries: DeliveryRecord[] }>('GET', '/admin/deliveries', { signal })
  return result.deliveries
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

export async function listAgents(signal?: AbortSignal): Promise<Agent[]> {
  const result = await request<{ agents: Agent[] }>('GET', '/admin/agents', { signal })
  return result.agents
}

export function createAgent(input: AgentInput): Promise<Agent> {
  return request('POST', '/admin/agents', { body: input })
}

export function updateAgent(id: string, input: AgentUpdate): Promise<Agent> {
  return request('PUT', `/admin/agents/${encode(id)}`, { body: input })
}

export function deleteAgent(id: string): Promise<void> {
  return request('DELETE', `/admin/agents/${encode(id)}`)
}

/** Sends from agent `fromId` to `input.to_agent_id`, or to every other agent for a broadcast. */
export function sendMessage(fromId: string, input: MessageInput): Promise<MessagesSent> {
  return request('POST', `/admin/agents/${encode(fromId)}/messages`, { body: input })
}

export async function listInbox(id: string, query: InboxQuery = {}, signal?: AbortSignal): Promise<AgentMessage[]> {
  const result = await request<{ messages: AgentMessage[] }>('GET', `/admin/agents/${encode(id)}/messages/inbox`, {
    query: { ...query },
    signal,
  })
  return result.messages
}

export async function listOutbox(id: string, signal?: AbortSignal): Promise<AgentMessage[]> {
  const result = await request<{ messages: AgentMessage[] }>('GET', `/admin/agents/${encode(id)}/messages/outbox`, {
    signal,
  })
  return result.messages
}

export function markMessageRead(agentId: string, messageId: string): Promise<AgentMessage> {
  return request('POST', `/admin/agents/${encode(agentId)}/messages/${encode(messageId)}/read`)
}

/** The conversation (by `in_reply_to`) of a message to or from the agent, oldest first. */
export async function getThread(agentId: string, messageId: string, signal?: AbortSignal): Promise<AgentMessage[]> {
  const path = `/admin/agents/${encode(agentId)}/messages/${encode(messageId)}/thread`
  const result = await request<{ messages: AgentMessage[] }>('GET', path, { signal })
  return result.messages
}

export function inboxStreamPath(agentId: string): string {
  return `/admin/agents/${encode(agentId)}/messages/stream`
}

export async function listAccounts(signal?: AbortSignal): Promise<Account[]> {
  const result = await request<{ accounts: Account[] }>('GET', '/admin/accounts', { signal })
  return result.accounts
}

export function createAccount(input: AccountInput): Promise<Account> {
  return request('POST', '/admin/accounts', { body: input })
}

export function updateAccount(id: string, input: AccountUpdate): Promise<Account> {
  return request('PUT', `/admin/accounts/${encode(id)}`, { body: input })
}

export function deleteAccount(id: string): Promise<void> {
  return request('DELETE', `/admin/accounts/${encode(id)}`)
}

/** Makes a limited account available again before its reset time. */
export function clearAccount(id: string): Promise<Account> {
  return request('POST', `/admin/accounts/${encode(id)}/clear`)
}

export function getMonitoringStatus(signal?: AbortSignal): Promise<MonitoringStatus> {
  return request('GET', '/admin/monitoring/status', { signal })
}

export function getMonitoringHistory(hours: number, bucket: HistoryBucket, signal?: AbortSignal): Promise<History> {
  return request('GET', '/admin/monitoring/history', { query: { hours, bucket }, signal })
}
