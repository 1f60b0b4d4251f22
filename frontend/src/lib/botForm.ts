import type { Account, Bot, BotInput, TriggerSource } from '@/api/types'
import { spendLimitTexts, spendLimitValues } from './spendLimits'

/** A field a client may write to a bot, as the generated API types declare them. */
export type BotField = keyof BotInput

/**
 * How the form holds a value of type `T`: checkboxes a boolean, lists one
 * string per row, text and number inputs a string (so a number can be left
 * empty), selects one of their choices.
 */
type FormValue<T> = [T] extends [boolean]
  ? boolean
  : [T] extends [readonly string[]]
    ? string[]
    : [T] extends [number]
      ? string
      : string extends T
        ? string
        : T

/**
 * What the bot form edits: every writable field of the API, derived from its
 * generated types, so a field the server adds fails the type check here until
 * the form has a default (and a control) for it.
 */
export type BotFormState = { [Field in BotField]-?: FormValue<NonNullable<BotInput[Field]>> }

/**
 * Placeholders the server fills in a prompt template: those of every run, the
 * pending messages of a bot that acts as an agent, then those of a GitHub pull
 * request (the backend's `template_context`, `MessageService.for_prompt` and
 * `PullRequest.context`). A webhook's JSON body is `{payload.<path>}` besides.
 */
export const PROMPT_PLACEHOLDERS = [
  'message',
  'paths',
  'trigger_id',
  'bot_name',
  'messages',
  'pr_url',
  'pr_number',
  'pr_title',
  'pr_author',
  'repo_full_name',
  'repo_url',
] as const

/** How a placeholder is written in a template: `{name}`. */
export function placeholderToken(name: string): string {
  return `{${name}}`
}

/** Weekday numbers for weekly schedules, Monday first (0) as the server's scheduler counts them. */
export const WEEKDAYS = ['Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday', 'Sunday'] as const

function browserTimeZone(): string {
  return Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC'
}

export function emptyBotForm(): BotFormState {
  return {
    name: '',
    prompt_template: '{message}',
    backend_type: 'claude',
    command: ['my-agent', '--prompt', '{prompt}'],
    model: '',
    allowed_tools: '',
    output_format: 'stream-json',
    paths: [],
    timeout_seconds: '600',
    sigterm_grace_seconds: '10',
    allow_concurrent_runs: false,
    worker_label: '',
    enabled: true,
    trigger_source: 'manual',
    schedule_type: 'daily',
    schedule_time: '09:00',
    schedule_day: '0',
    cron_expression: '',
    schedule_timezone: browserTimeZone(),
    webhook_secret: '',
    match_field_path: '',
    match_field_value: '',
    text_field_path: '',
    detection_keyword: '',
    repositories: [],
    include_drafts: false,
    agent_id: '',
    account_chain: [],
    ...spendLimitTexts(),
  }
}

export function botToForm(bot: Bot): BotFormState {
  const blank = emptyBotForm()
  return {
    ...blank,
    name: bot.name,
    prompt_template: bot.prompt_template,
    backend_type: bot.backend_type,
    command: bot.command ?? blank.command,
    model: bot.model ?? '',
    allowed_tools: bot.allowed_tools ?? '',
    output_format: bot.output_format,
    paths: [...bot.paths],
    timeout_seconds: String(bot.timeout_seconds),
    sigterm_grace_seconds: String(bot.sigterm_grace_seconds),
    allow_concurrent_runs: bot.allow_concurrent_runs,
    worker_label: bot.worker_label ?? '',
    enabled: bot.enabled,
    trigger_source: bot.trigger_source,
    schedule_type: bot.schedule_type ?? blank.schedule_type,
    schedule_time: bot.schedule_time ?? blank.schedule_time,
    schedule_day: bot.schedule_day == null ? blank.schedule_day : String(bot.schedule_day),
    cron_expression: bot.cron_expression ?? '',
    schedule_timezone: bot.schedule_timezone ?? blank.schedule_timezone,
    match_field_path: bot.match_field_path ?? '',
    match_field_value: bot.match_field_value ?? '',
    text_field_path: bot.text_field_path ?? '',
    detection_keyword: bot.detection_keyword ?? '',
    repositories: [...(bot.repositories ?? [])],
    include_drafts: bot.include_drafts,
    agent_id: bot.agent_id ?? '',
    account_chain: [...(bot.account_chain ?? [])],
    ...spendLimitTexts(bot),
  }
}

function text(value: string): string | null {
  const trimmed = value.trim()
  return trimmed === '' ? null : trimmed
}

function numberOrNull(value: string): number | null {
  const trimmed = value.trim()
  return trimmed === '' ? null : Number(trimmed)
}

function list(values: readonly string[]): string[] {
  return values.map((value) => value.trim()).filter((value) => value !== '')
}

function scheduleInput(form: BotFormState): Partial<BotInput> {
  const type = form.schedule_type
  return {
    schedule_type: type,
    schedule_time: type === 'cron' ? null : text(form.schedule_time),
    schedule_day: type === 'weekly' || type === 'monthly' ? numberOrNull(form.schedule_day) : null,
    cron_expression: type === 'cron' ? text(form.cron_expression) : null,
    schedule_timezone: text(form.schedule_timezone),
  }
}

function webhookInput(form: BotFormState): Partial<BotInput> {
  return {
    match_field_path: text(form.match_field_path),
    match_field_value: text(form.match_field_value),
    text_field_path: text(form.text_field_path),
    detection_keyword: text(form.detection_keyword),
    ...(form.webhook_secret === '' ? {} : { webhook_secret: form.webhook_secret }),
  }
}

function githubInput(form: BotFormState): Partial<BotInput> {
  return { repositories: list(form.repositories), include_drafts: form.include_drafts }
}

const TRIGGER_INPUT: Record<TriggerSource, (form: BotFormState) => Partial<BotInput>> = {
  manual: () => ({}),
  scheduled: scheduleInput,
  webhook: webhookInput,
  github: githubInput,
}

/**
 * The request body for a form. It carries the settings of the chosen backend
 * and trigger source only (the server ignores the others), leaves out empty
 * numbers so the server keeps its default or stored value, and sends the
 * webhook secret only when one was typed, so that an empty field keeps it.
 */
export function formToInput(form: BotFormState): BotInput {
  const timeout = numberOrNull(form.timeout_seconds)
  const grace = numberOrNull(form.sigterm_grace_seconds)
  return {
    name: form.name.trim(),
    prompt_template: form.prompt_template,
    backend_type: form.backend_type,
    trigger_source: form.trigger_source,
    enabled: form.enabled,
    model: text(form.model),
    allowed_tools: text(form.allowed_tools),
    paths: list(form.paths),
    ...(timeout === null ? {} : { timeout_seconds: timeout }),
    ...(grace === null ? {} : { sigterm_grace_seconds: grace }),
    allow_concurrent_runs: form.allow_concurrent_runs,
    worker_label: text(form.worker_label),
    ...(form.backend_type === 'claude' ? { output_format: form.output_format } : {}),
    ...(form.backend_type === 'command' ? { command: list(form.command) } : {}),
    ...TRIGGER_INPUT[form.trigger_source](form),
    agent_id: text(form.agent_id),
    account_chain: list(form.account_chain),
    ...spendLimitValues(form),
  }
}

/**
 * The accounts a row of the chain may name: those not named by another row
 * (an account appears once in a chain), by name.
 */
export function chainChoices(accounts: readonly Account[], chain: readonly string[], row: number): Account[] {
  const taken = new Set(chain.filter((_, index) => index !== row))
  return accounts.filter((account) => !taken.has(account.id)).sort((a, b) => a.name.localeCompare(b.name))
}

/** The chain with the row at `from` moved to `to` (both within the chain). */
export function moveInChain(chain: readonly string[], from: number, to: number): string[] {
  const moved = [...chain]
  const item = moved[from]
  if (item === undefined || to < 0 || to >= moved.length) return moved
  moved.splice(from, 1)
  moved.splice(to, 0, item)
  return moved
}

/**
 * What the form says of a chain: runs use each account's backend in turn, so
 * a chain whose accounts are not all of the bot's backend is pointed out, and
 * an id no listed account has (deleted since) is named.
 */
export function chainNotes(accounts: readonly Account[], chain: readonly string[], backend: string): string[] {
  const byId = new Map(accounts.map((account) => [account.id, account]))
  const notes: string[] = []
  for (const id of chain) {
    const account = byId.get(id)
    if (!account) notes.push(`${id}: no such account`)
    else if (account.backend !== backend) notes.push(`${account.name} runs ${account.backend}, not ${backend}: the bot's model is not used there`)
  }
  return notes
}

/** The per-bot webhook URL and the generic one, on this page's origin. */
export function webhookUrls(origin: string, botId: string | null): { bot: string | null; generic: string } {
  return {
    bot: botId ? `${origin}/api/webhooks/bots/${encodeURIComponent(botId)}` : null,
    generic: `${origin}/`,
  }
}
