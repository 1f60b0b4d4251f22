/** Typed models of the Agented admin API. All ids are opaque strings; times are UTC ISO-8601. */

export const BACKEND_TYPES = ['claude', 'codex', 'gemini', 'opencode', 'command'] as const
export type BackendType = (typeof BACKEND_TYPES)[number]

export const TRIGGER_SOURCES = ['manual', 'webhook', 'github', 'scheduled'] as const
export type TriggerSource = (typeof TRIGGER_SOURCES)[number]

export const SCHEDULE_TYPES = ['daily', 'weekly', 'monthly', 'cron'] as const
export type ScheduleType = (typeof SCHEDULE_TYPES)[number]

export type TriggerType = TriggerSource | 'retry'

export const EXECUTION_STATUSES = [
  'queued',
  'running',
  'success',
  'failed',
  'timeout',
  'cancelled',
  'interrupted',
] as const
export type ExecutionStatus = (typeof EXECUTION_STATUSES)[number]

/** Statuses in which an execution can still produce output or be cancelled. */
export const ACTIVE_STATUSES: readonly ExecutionStatus[] = ['queued', 'running']

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
export interface Bot {
  id: string
  name: string
  prompt_template: string
  backend_type: BackendType
  trigger_source: TriggerSource
  enabled: boolean
  model: string | null
  allowed_tools: string | null
  paths: string[]
  timeout_seconds: number
  sigterm_grace_seconds: number
  command: string[] | null
  schedule_type: ScheduleType | null
  schedule_time: string | null
  schedule_day: number | null
  cron_expression: string | null
  schedule_timezone: string | null
  next_run_at: string | null
  has_webhook_secret: boolean
  match_field_path: string | null
  match_field_value: string | null
  text_field_path: string | null
  detection_keyword: string | null
  repositories: string[]
  include_drafts: boolean
  created_at: string
  updated_at: string
  last_execution: LastExecution | null
}

/**
 * Fields a client may send when creating or updating a bot (updates may be
 * partial). An absent field keeps its stored value, or the server default.
 */
export interface BotInput
  extends Pick<
    Bot,
    'name' | 'prompt_template' | 'backend_type' | 'trigger_source' | 'enabled' | 'model' | 'allowed_tools' | 'paths'
  > {
  timeout_seconds?: number
  sigterm_grace_seconds?: number
  command?: string[]
  schedule_type?: ScheduleType
  schedule_time?: string | null
  schedule_day?: number | null
  cron_expression?: string | null
  schedule_timezone?: string | null
  /** Only sent to set a new secret; the API never returns it. */
  webhook_secret?: string
  match_field_path?: string | null
  match_field_value?: string | null
  text_field_path?: string | null
  detection_keyword?: string | null
  repositories?: string[]
  include_drafts?: boolean
}

export interface Usage {
  input_tokens: number
  output_tokens: number
  cache_creation_input_tokens: number
  cache_read_input_tokens: number
  total_cost_usd: number
}

export interface Execution {
  id: string
  /** Null once the bot was deleted. */
  trigger_id: string | null
  trigger_name: string
  trigger_type: TriggerType
  status: ExecutionStatus
  backend_type: BackendType
  prompt: string
  command: string[]
  created_at: string
  started_at: string | null
  finished_at: string | null
  duration_ms: number | null
  exit_code: number | null
  error_message: string | null
  usage: Usage | null
}

export type LogStreamName = 'stdout' | 'stderr'

export interface LogEntry {
  seq: number
  stream: LogStreamName
  content: string
  timestamp: string
}

export interface ExecutionDetail extends Execution {
  logs: LogEntry[]
  logs_truncated: boolean
}

export interface Page {
  limit?: number
  offset?: number
}

export interface ExecutionFilter extends Page {
  status?: ExecutionStatus
  trigger_id?: string
}

export interface ExecutionPage {
  executions: Execution[]
  total: number
  limit: number
  offset: number
}

export interface LogQuery {
  q?: string
  after_seq?: number
  limit?: number
}

export interface PromptPreview {
  prompt: string
  unresolved: string[]
}

export interface RunResult {
  execution_id: string
  status: ExecutionStatus
}

export interface CancelResult {
  execution_id: string
  /** E.g. "cancelling": the final status arrives with the execution's `complete` event. */
  status: string
}

export interface DayStats {
  date: string
  total: number
  failed: number
}

export interface Retry {
  id: string
  /** Null once the bot was deleted. */
  trigger_id: string | null
  trigger_name: string | null
  execution_id: string
  attempt: number
  due_at: string
  reason: string
  status: string
}

export interface SchedulerJob {
  id: string
  trigger_id: string | null
  name: string
  next_run_time: string | null
}

/** Opens one SSE stream path until `expires_at` (EventSource cannot send the API key). */
export interface StreamToken {
  token: string
  expires_at: string
}

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
}

/** The body of every error response. */
export interface ErrorBody {
  error: string
  field?: string
  [key: string]: unknown
}
