import type { Account, Agent, AgentMessage, Bot, Execution } from '@/api/types'

/** A stored bot as the API returns it: manual, never run; a test overrides what it needs. */
export function makeBot(overrides: Partial<Bot> = {}): Bot {
  return {
    id: 'b1',
    name: 'reviewer',
    prompt_template: 'Review {pr_url}',
    backend_type: 'claude',
    trigger_source: 'manual',
    enabled: true,
    model: null,
    allowed_tools: null,
    output_format: 'stream-json',
    paths: [],
    timeout_seconds: 600,
    sigterm_grace_seconds: 5,
    command: null,
    allow_concurrent_runs: false,
    worker_label: null,
    schedule_type: null,
    schedule_time: null,
    schedule_day: null,
    cron_expression: null,
    schedule_timezone: null,
    schedule_cron: null,
    next_run_at: null,
    has_webhook_secret: false,
    match_field_path: null,
    match_field_value: null,
    text_field_path: null,
    detection_keyword: null,
    repositories: [],
    include_drafts: false,
    agent_id: null,
    account_chain: [],
    daily_usd_limit: null,
    monthly_usd_limit: null,
    daily_token_limit: null,
    monthly_token_limit: null,
    created_at: '2026-11-24T10:00:00Z',
    updated_at: '2026-11-24T10:00:00Z',
    last_execution: null,
    ...overrides,
  }
}

/** An available codex account without variables or limits; a test overrides what it needs. */
export function makeAccount(overrides: Partial<Account> = {}): Account {
  return {
    id: 'acc_1',
    name: 'Work',
    backend: 'codex',
    env: {},
    is_default: false,
    secret_env_names: [],
    limited_until: null,
    limited_reason: null,
    state: 'available',
    daily_usd_limit: null,
    monthly_usd_limit: null,
    daily_token_limit: null,
    monthly_token_limit: null,
    created_at: '2026-11-24T10:00:00Z',
    updated_at: '2026-11-24T10:00:00Z',
    ...overrides,
  }
}

/** A running manual execution of bot b1 as the API returns it; a test overrides what it needs. */
export function makeExecution(overrides: Partial<Execution> = {}): Execution {
  return {
    id: 'e1',
    bot_id: 'b1',
    bot_name: 'reviewer',
    trigger_id: 'b1',
    trigger_name: 'reviewer',
    trigger_type: 'manual',
    status: 'running',
    backend_type: 'claude',
    prompt: 'Review it',
    command: ['claude', '-p', 'Review it'],
    created_at: '2026-11-24T10:00:00Z',
    started_at: '2026-11-24T10:00:01Z',
    finished_at: null,
    duration_ms: null,
    exit_code: null,
    error_message: null,
    usage: null,
    account_id: null,
    not_before: null,
    waiting_reason: null,
    session_id: null,
    retry_of: null,
    attempt: 0,
    log_lines: 0,
    run_number: 1,
    rerun_of: null,
    input_summary: 'Review it',
    trigger_details: null,
    worker: null,
    ...overrides,
  }
}

/** An agent as the API returns it, with no bots and nothing unread; a test overrides what it needs. */
export function makeAgent(overrides: Partial<Agent> = {}): Agent {
  return {
    id: 'a1',
    name: 'reviewer',
    role: null,
    description: null,
    bots: [],
    unread: 0,
    created_at: '2026-11-24T10:00:00Z',
    updated_at: '2026-11-24T10:00:00Z',
    ...overrides,
  }
}

/** A pending message from agent a1 to a2, first in a2's inbox; a test overrides what it needs. */
export function makeMessage(overrides: Partial<AgentMessage> = {}): AgentMessage {
  return {
    id: 'm1',
    inbox_seq: 1,
    from_execution_id: null,
    message_type: 'message',
    priority: 'normal',
    subject: null,
    content: 'Please look at parser.ts',
    ttl_seconds: null,
    in_reply_to: null,
    from_agent_id: 'a1',
    from_agent_name: 'reviewer',
    to_agent_id: 'a2',
    to_agent_name: 'fixer',
    status: 'pending',
    created_at: '2026-11-24T10:00:00Z',
    expires_at: null,
    delivered_at: null,
    read_at: null,
    ...overrides,
  }
}
