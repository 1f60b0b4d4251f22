/**
 * The bot form's checks in the browser, run before it is sent: every problem
 * at once, each worded for a person and keyed by the field it is about. They
 * mirror the server's rules (which still decide: a problem only the server can
 * see, such as a directory that does not exist, comes back from it by field).
 */
import type { BotField, BotFormState } from './botForm'
import { spendLimitErrors } from './spendLimits'

export type BotFormErrors = Partial<Record<BotField, string>>

const TIME = /^([01]\d|2[0-3]):[0-5]\d$/
const REPOSITORY = /^[\w.-]+\/[\w.-]+$/

function wholeNumberIn(value: string, low: number, high: number): boolean {
  const trimmed = value.trim()
  if (trimmed === '') return true // left empty: the server keeps its default
  const number = Number(trimmed)
  return Number.isInteger(number) && number >= low && number <= high
}

function scheduleErrors(form: BotFormState): BotFormErrors {
  if (form.schedule_type === 'cron') {
    const fields = form.cron_expression.trim().split(/\s+/).filter(Boolean)
    return fields.length === 5
      ? {}
      : { cron_expression: 'Write the cron expression with its five fields: minute hour day month weekday, e.g. 0 9 * * 1-5.' }
  }
  const errors: BotFormErrors = {}
  if (!TIME.test(form.schedule_time.trim())) errors.schedule_time = 'Give the time as HH:MM on a 24-hour clock, e.g. 09:00.'
  if (form.schedule_type === 'weekly' && !wholeNumberIn(form.schedule_day || 'x', 0, 6)) {
    errors.schedule_day = 'Choose the day of the week.'
  }
  if (form.schedule_type === 'monthly' && !wholeNumberIn(form.schedule_day || 'x', 1, 28)) {
    errors.schedule_day = 'Choose a day of the month from 1 to 28 (every month has those).'
  }
  return errors
}

/** Every problem of the form, by field; empty when it may be sent. */
export function validateBotForm(form: BotFormState): BotFormErrors {
  const errors: BotFormErrors = {}
  const name = form.name.trim()
  if (name === '') errors.name = 'Give the bot a name.'
  else if (name.length > 200) errors.name = 'Keep the name to 200 characters or fewer.'
  if (form.prompt_template.trim() === '') errors.prompt_template = 'Write the prompt: what the bot is asked to do.'
  if (!wholeNumberIn(form.timeout_seconds, 1, 86_400)) {
    errors.timeout_seconds = 'The timeout is a whole number of seconds from 1 to 86,400 (one day).'
  }
  if (!wholeNumberIn(form.sigterm_grace_seconds, 0, 3_600)) {
    errors.sigterm_grace_seconds = 'The grace period is a whole number of seconds from 0 to 3,600 (one hour).'
  }
  if (form.backend_type === 'command' && (form.command[0] ?? '').trim() === '') {
    errors.command = 'Name the program to run first, then its arguments, e.g. echo {prompt}.'
  }
  if (form.backend_type === 'opencode' && form.model.trim() !== '' && !form.model.includes('/')) {
    errors.model = 'For opencode, write the model as provider/model, e.g. anthropic/claude-sonnet-4.'
  }
  const relative = form.paths.map((path) => path.trim()).find((path) => path !== '' && !path.startsWith('/'))
  if (relative !== undefined) errors.paths = `Each directory is a full path starting with /; “${relative}” is not.`
  if (form.trigger_source === 'scheduled') Object.assign(errors, scheduleErrors(form))
  if (form.trigger_source === 'webhook' && form.webhook_secret !== '' && form.webhook_secret.length < 8) {
    errors.webhook_secret = 'A webhook secret has at least 8 characters.'
  }
  if (form.trigger_source === 'github') {
    const wrong = form.repositories.map((repo) => repo.trim()).find((repo) => repo !== '' && !REPOSITORY.test(repo))
    if (wrong !== undefined) errors.repositories = `Write each repository as owner/name; “${wrong}” is not.`
  }
  Object.assign(errors, spendLimitErrors(form))
  return errors
}
