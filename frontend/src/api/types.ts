/**
 * The API's types for the rest of the app, taken from `schema.d.ts`, which is
 * generated from the server's OpenAPI schema (`scripts/api-types`; the test
 * command fails while it is stale). Only what the schema does not describe
 * (yet) is written here: it declares some fields loosely (an execution's
 * `status` as any string, `usage` and `last_execution` as any object), so
 * those are narrowed below, and a few routes it does not document at all.
 * All ids are opaque strings; times are UTC ISO-8601.
 */
import type { components, operations } from './schema'

type Schemas = components['schemas']

/** The JSON body an operation accepts. */
type JsonBody<Op extends keyof operations> = NonNullable<operations[Op]['requestBody']>['content']['application/json']

/** The JSON an operation answers with `status`. */
type JsonResponse<Op extends keyof operations, Status extends number> = operations[Op]['responses'] extends Record<
  Status,
  { content: { 'application/json': infer Body } }
>
  ? Body
  : never

/** The query parameters an operation accepts. */
type QueryOf<Op extends keyof operations> = NonNullable<operations[Op]['parameters']['query']>

/**
 * Every member of a string union as a list, in the order written. Written as
 * an object's keys so the compiler refuses a missing or an unknown member.
 */
function members<T extends string>(all: Record<T, true>): readonly T[] {
  return Object.keys(all) as T[]
}

export type BackendType = Schemas['BotOut']['backend_type']
export const BACKEND_TYPES = members<BackendType>({ claude: true, codex: true, gemini: true, opencode: true, command: true })

export type TriggerSource = Schemas['BotOut']['trigger_source']
export const TRIGGER_SOURCES = members<TriggerSource>({ manual: true, webhook: true, github: true, scheduled: true })

export type ScheduleType = NonNullable<Schemas['BotOut']['schedule_type']>
export const SCHEDULE_TYPES = members<ScheduleType>({ daily: true, weekly: true, monthly: true, cron: true })

/** A backend type and whether the server can run it: its CLI on the server's PATH, with its version. */
export type InstalledBackend = Schemas['InstalledBackend']

/** How Claude Code reports a run (`--output-format`); the other backends have a fixed format. */
export type OutputFormat = Schemas['BotOut']['output_format']
export const OUTPUT_FORMATS = members<OutputFormat>({ 'stream-json': true, json: true })

/** What started an execution: a bot's trigger source, a retry of an earlier run, a fallback
 * of a rate-limited run onto the next account of its bot's chain, or a re-run. */
export type TriggerType = NonNullable<ExecutionFilter['trigger_type']>
export const TRIGGER_TYPES = members<TriggerType>({
  manual: true,
  webhook: true,
  github: true,
  scheduled: true,
  retry: true,
  fallback: true,
  rerun: true,
})

export type ExecutionStatus = NonNullable<QueryOf<'get_list_executions'>['status']>
export const EXECUTION_STATUSES = members<ExecutionStatus>({
  waiting: true,
  queued: true,
  running: true,
  success: true,
  failed: true,
  timeout: true,
  cancelled: true,
  interrupted: true,
  budget_exceeded: true,
})

/** Statuses in which an execution can still produce output or be cancelled (`waiting`: parked
 * until an account or a spend period frees up). */
export const ACTIVE_STATUSES: readonly ExecutionStatus[] = ['waiting', 'queued', 'running']

export function isActiveStatus(status: ExecutionStatus): boolean {
  return ACTIVE_STATUSES.includes(status)
}

export interface LastExecution {
  id: string
  status: ExecutionStatus
  started_at: string | null
  finished_at: string | null
}

/** A bot ("trigger" in the API paths). */
export type Bot = Omit<Schemas['BotOut'], 'last_execution'> & { last_execution: LastExecution | null }

/**
 * What a client may send when creating a bot; an update takes the same fields,
 * all optional. An absent field keeps its stored value, or the server default.
 * `webhook_secret` is only sent to set a new secret; the API never returns it.
 */
export type BotInput = JsonBody<'post_create_bot'>
export type BotUpdate = JsonBody<'put_update_bot'>

export interface Usage {
  input_tokens: number
  output_tokens: number
  cache_creation_input_tokens: number
  cache_read_input_tokens: number
  total_cost_usd: number
}

/** An execution; `trigger_id` is null once the bot was deleted. */
export type Execution = Omit<Schemas['Execution'], 'status' | 'trigger_type' | 'backend_type' | 'usage'> & {
  status: ExecutionStatus
  trigger_type: TriggerType
  backend_type: BackendType
  usage: Usage | null
}

export type LogEntry = Schemas['LogLineOut']
export type LogStreamName = LogEntry['stream']

/** An execution with one page of its log (`logs_truncated`: more lines follow). */
export type ExecutionDetail = Execution & Omit<JsonResponse<'get_get_execution', 200>, keyof Execution>

export type ExecutionFilter = QueryOf<'get_list_executions'>
export type Page = Pick<ExecutionFilter, 'limit' | 'offset'>

export type ExecutionPage = Omit<JsonResponse<'get_list_executions', 200>, 'executions'> & {
  executions: Execution[]
}

export type LogQuery = QueryOf<'get_get_execution'>

/** "Run with…": changes to a finished run's input before it runs again (nothing: the same). */
export type RerunInput = JsonBody<'post_rerun_execution'>

/** A webhook delivery a bot received and what became of it (accepted, refused, duplicate, ignored). */
export type DeliveryRecord = Schemas['DeliveryRecord']

/** A search over an execution's whole stored log, and its answer: the count and a window of matches. */
export type LogSearchQuery = QueryOf<'get_search_log'>
export type LogSearchResult = JsonResponse<'get_search_log', 200>
export type LogSearchFirstQuery = QueryOf<'get_first_match'>
export type LogSearchFirst = JsonResponse<'get_first_match', 200>

export type PromptPreview = JsonResponse<'post_preview_prompt', 200>

export type RunResult = Omit<JsonResponse<'post_run_bot', 202>, 'status'> & { status: ExecutionStatus }

export interface CancelResult {
  execution_id: string
  /** E.g. "cancelling": the final status arrives with the execution's `complete` event. */
  status: string
}

export type DayStats = Schemas['DailyCount']

/** A pending or past retry, or a parked run (`parked`); `trigger_id` is null once the bot was deleted. */
export type Retry = Schemas['RetryOut']

export interface SchedulerJob {
  id: string
  trigger_id: string | null
  name: string
  next_run_time: string | null
}

/** An agent: the bots acting as it, and how many messages await it (not read, not expired). */
export type Agent = Schemas['AgentOut']
export type AgentBot = Schemas['AgentBot']
export type AgentInput = JsonBody<'post_create_agent'>
export type AgentUpdate = JsonBody<'put_update_agent'>

/** A message in one agent's inbox; a broadcast is one per recipient. `inbox_seq` is its stream event id. */
export type AgentMessage = Schemas['AgentMessage']
export type MessageInput = JsonBody<'post_send_message'>
export type MessagesSent = JsonResponse<'post_send_message', 201>
export type InboxQuery = QueryOf<'get_inbox'>

export type MessageType = AgentMessage['message_type']
export const MESSAGE_TYPES = members<MessageType>({
  message: true,
  broadcast: true,
  request: true,
  response: true,
  artifact: true,
  shutdown: true,
})

export type MessagePriority = AgentMessage['priority']
export const MESSAGE_PRIORITIES = members<MessagePriority>({ low: true, normal: true, high: true })

export type MessageStatus = AgentMessage['status']

/** Payload of an inbox stream's `complete` event: the agent was deleted. */
export interface InboxClosedEvent {
  agent_id: string
  reason: string
}

/** Opens one SSE stream path until `expires_at` (EventSource cannot send the API key). */
export type StreamToken = JsonResponse<'post_issue_stream_token', 200>

export interface Readiness {
  status: string
  [key: string]: unknown
}

/** Payload of the SSE `status` event. */
export interface StatusEvent {
  status: ExecutionStatus
  started_at: string | null
}

/** Payload of the SSE `complete` event; the server ends the stream after it. */
export interface CompleteEvent {
  status: ExecutionStatus
  exit_code: number | null
  error_message: string | null
  duration_ms: number | null
  finished_at: string | null
  usage?: Usage | null
}

/**
 * The conversation items derived from one log line (its `seq`): the SSE
 * `conversation` event's payload, and an entry of a conversation page. Fields
 * without a value are left out of the JSON (the schema declares them null).
 */
export type ConversationEntry = Schemas['ConversationEntry']
export type ConversationItem = ConversationEntry['items'][number]
export type ConversationUsage = Schemas['Usage']
export type ConversationPage = JsonResponse<'get_get_conversation', 200>
export type ConversationQuery = QueryOf<'get_get_conversation'>

/** The body of every error response. */
export interface ErrorBody {
  error: string
  field?: string
  [key: string]: unknown
}

/** A login or API key a backend's CLI runs under; its secret variables are shown by name only. */
export type Account = Schemas['Account']
export type AccountInput = JsonBody<'post_create_account'>
export type AccountUpdate = JsonBody<'put_update_account'>

/** What runs now, each account's state and use, each bot's success (`GET /admin/monitoring/status`). */
export type MonitoringStatus = Omit<JsonResponse<'get_monitoring_status', 200>, 'active'> & { active: Execution[] }
export type AccountStatus = Schemas['AccountStatus']
export type PeriodUsage = Schemas['PeriodUsage']
export type SpendLimits = Schemas['SpendLimits']
export type BotStatus = Schemas['BotStatus']

/** What ended per bucket (`GET /admin/monitoring/history`). */
export type History = JsonResponse<'get_monitoring_history', 200>
export type HistoryPoint = Schemas['HistoryPoint']
export type HistoryBucket = History['bucket']
