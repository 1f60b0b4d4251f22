import { describe, expect, it } from 'vitest'
import { emptyBotForm } from '@/lib/botForm'
import { validateBotForm } from '@/lib/botValidation'

describe('the bot form checked in the browser', () => {
  it('accepts a complete form', () => {
    expect(validateBotForm({ ...emptyBotForm(), name: 'reviewer' })).toEqual({})
  })

  it('reports every problem at once, each by its field in plain words', () => {
    const errors = validateBotForm({
      ...emptyBotForm(),
      name: '  ',
      prompt_template: '',
      timeout_seconds: '0',
      sigterm_grace_seconds: '1.5',
      paths: ['relative/dir'],
    })
    expect(Object.keys(errors).sort()).toEqual(['name', 'paths', 'prompt_template', 'sigterm_grace_seconds', 'timeout_seconds'])
    expect(errors.name).toBe('Give the bot a name.')
    expect(errors.paths).toContain('“relative/dir” is not')
  })

  it('checks only the chosen trigger’s and backend’s fields', () => {
    const base = { ...emptyBotForm(), name: 'b', cron_expression: 'nope', repositories: ['bad'], command: [''] }
    expect(validateBotForm(base)).toEqual({})
    expect(validateBotForm({ ...base, trigger_source: 'scheduled', schedule_type: 'cron' }).cron_expression).toMatch(/five fields/)
    expect(validateBotForm({ ...base, trigger_source: 'github' }).repositories).toMatch(/owner\/name/)
    expect(validateBotForm({ ...base, backend_type: 'command' }).command).toMatch(/program/)
  })

  it('checks schedules: time, weekday and day of month', () => {
    const scheduled = { ...emptyBotForm(), name: 'b', trigger_source: 'scheduled' as const }
    expect(validateBotForm({ ...scheduled, schedule_time: '25:00' }).schedule_time).toMatch(/HH:MM/)
    expect(validateBotForm({ ...scheduled, schedule_type: 'monthly', schedule_day: '31' }).schedule_day).toMatch(/1 to 28/)
    expect(validateBotForm({ ...scheduled, schedule_type: 'weekly', schedule_day: '6' })).toEqual({})
  })
})

describe('spend limits in the bot form', () => {
  it('refuses a limit the server would, and lets an empty one through', () => {
    const errors = validateBotForm({
      ...emptyBotForm(),
      name: 'reviewer',
      daily_usd_limit: '0',
      monthly_usd_limit: '',
      daily_token_limit: '1.5',
      monthly_token_limit: '5000',
    })
    expect(errors).toEqual({
      daily_usd_limit: 'A USD limit is an amount above 0 and up to 1,000,000.',
      daily_token_limit: 'A token limit is a whole number of tokens, at least 1.',
    })
  })
})
