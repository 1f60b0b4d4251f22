import { flushPromises, mount } from '@vue/test-utils'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import * as client from '@/api/client'
import type { Bot } from '@/api/types'
import BotForm from '@/components/bot/BotForm.vue'
import { botToForm, emptyBotForm, formToInput } from '@/lib/botForm'
import { makeBot } from './support/fixtures'

vi.mock('@/api/client', async (importOriginal) => {
  const actual = await importOriginal<typeof client>()
  return { ...actual, createBot: vi.fn(), updateBot: vi.fn() }
})

const createBot = vi.mocked(client.createBot)
const updateBot = vi.mocked(client.updateBot)

/** A stored webhook bot. */
function bot(overrides: Partial<Bot> = {}): Bot {
  return makeBot({
    trigger_source: 'webhook',
    paths: ['/srv/repo'],
    has_webhook_secret: true,
    match_field_path: 'event',
    match_field_value: 'push',
    ...overrides,
  })
}

function mountForm(props: { bot?: Bot } = {}) {
  return mount(BotForm, { props, attachTo: document.body })
}

beforeEach(() => {
  createBot.mockReset()
  updateBot.mockReset()
})

afterEach(() => {
  document.body.innerHTML = ''
})

describe('BotForm', () => {
  it('shows a 400 validation error next to the field the server names', async () => {
    createBot.mockRejectedValue(
      new client.ApiError(400, 'timeout_seconds must be between 1 and 86400', 'timeout_seconds', {
        error: 'timeout_seconds must be between 1 and 86400',
        field: 'timeout_seconds',
      }),
    )
    const wrapper = mountForm()
    await wrapper.get('[data-testid="bot-field-name"]').setValue('nightly')
    await wrapper.get('[data-testid="bot-field-timeout_seconds"]').setValue('0')
    await wrapper.get('[data-testid="bot-form"]').trigger('submit')
    await flushPromises()

    expect(createBot).toHaveBeenCalledWith(expect.objectContaining({ name: 'nightly', timeout_seconds: 0 }))
    const error = wrapper.get('[data-testid="field-error-timeout_seconds"]')
    expect(error.text()).toBe('timeout_seconds must be between 1 and 86400')

    const input = wrapper.get('[data-testid="bot-field-timeout_seconds"]')
    expect(input.attributes('aria-invalid')).toBe('true')
    expect(input.attributes('aria-describedby')).toContain(error.attributes('id'))
    expect(document.activeElement).toBe(input.element)
    expect(wrapper.find('[data-testid="error-message"]').exists()).toBe(false)
    expect(wrapper.emitted('saved')).toBeUndefined()
  })

  it('shows a duplicate-name 409 under the name field', async () => {
    createBot.mockRejectedValue(new client.ApiError(409, 'a bot named "x" already exists', 'name'))
    const wrapper = mountForm()
    await wrapper.get('[data-testid="bot-form"]').trigger('submit')
    await flushPromises()
    expect(wrapper.get('[data-testid="field-error-name"]').text()).toContain('already exists')
  })

  it('shows errors without a visible field above the buttons', async () => {
    createBot.mockRejectedValue(new client.ApiError(500, 'internal server error'))
    const wrapper = mountForm()
    await wrapper.get('[data-testid="bot-form"]').trigger('submit')
    await flushPromises()
    expect(wrapper.get('[data-testid="error-message"]').text()).toContain('internal server error')
    expect(wrapper.find('[data-testid^="field-error-"]').exists()).toBe(false)
  })

  it('saves with the save button and emits the saved bot', async () => {
    const saved = bot({ trigger_source: 'manual' })
    createBot.mockResolvedValue(saved)
    const wrapper = mountForm()
    await wrapper.get('[data-testid="bot-field-name"]').setValue('reviewer')
    await wrapper.get('[data-testid="bot-save"]').trigger('click')
    await flushPromises()
    expect(createBot).toHaveBeenCalledTimes(1)
    expect(wrapper.emitted('saved')?.[0]).toEqual([saved])
  })

  it('edits a webhook bot: URL shown, secret masked and kept when left empty', async () => {
    updateBot.mockResolvedValue(bot())
    const wrapper = mountForm({ bot: bot() })

    expect(wrapper.get('[data-testid="webhook-url"]').text()).toBe(`${window.location.origin}/api/webhooks/bots/b1`)
    const secret = wrapper.get('[data-testid="bot-field-webhook_secret"]')
    expect(secret.attributes('type')).toBe('password')
    expect((secret.element as HTMLInputElement).value).toBe('')

    await wrapper.get('[data-testid="bot-form"]').trigger('submit')
    await flushPromises()
    const [id, input] = updateBot.mock.calls[0]!
    expect(id).toBe('b1')
    expect(input).not.toHaveProperty('webhook_secret')
    expect(input).toMatchObject({ match_field_path: 'event', match_field_value: 'push' })

    await secret.setValue('new-secret')
    await wrapper.get('[data-testid="bot-form"]').trigger('submit')
    await flushPromises()
    expect(updateBot.mock.calls[1]?.[1]).toMatchObject({ webhook_secret: 'new-secret' })
  })

  it('shows the fields of the chosen backend and trigger only', async () => {
    const wrapper = mountForm()
    expect(wrapper.find('[data-testid="bot-field-command"]').exists()).toBe(false)
    await wrapper.get('[data-testid="bot-field-backend_type"]').setValue('command')
    expect(wrapper.find('[data-testid="bot-field-command"]').exists()).toBe(true)

    await wrapper.get('[data-testid="bot-field-trigger_source"]').setValue('scheduled')
    expect(wrapper.find('[data-testid="bot-schedule-fields"]').exists()).toBe(true)
    expect(wrapper.find('[data-testid="bot-field-schedule_time"]').exists()).toBe(true)
    await wrapper.get('[data-testid="bot-field-schedule_type"]').setValue('cron')
    expect(wrapper.find('[data-testid="bot-field-schedule_time"]').exists()).toBe(false)
    expect(wrapper.find('[data-testid="bot-field-cron_expression"]').exists()).toBe(true)

    await wrapper.get('[data-testid="bot-field-trigger_source"]').setValue('github')
    expect(wrapper.find('[data-testid="bot-github-fields"]').exists()).toBe(true)
    expect(wrapper.find('[data-testid="bot-schedule-fields"]').exists()).toBe(false)
  })

  it('inserts a placeholder into the prompt template', async () => {
    const wrapper = mountForm()
    const textarea = wrapper.get('[data-testid="bot-field-prompt_template"]')
    await textarea.setValue('Fix: ')
    ;(textarea.element as HTMLTextAreaElement).setSelectionRange(5, 5)
    await wrapper.get('[aria-label="Insert placeholder pr_url"]').trigger('click')
    expect((textarea.element as HTMLTextAreaElement).value).toBe('Fix: {pr_url}')
  })
})

describe('formToInput', () => {
  it('sends the settings of the chosen backend and trigger only', () => {
    const form = {
      ...emptyBotForm(),
      name: '  nightly ',
      backend_type: 'command' as const,
      command: ['run', ' ', '{prompt}'],
      paths: ['/a', ''],
      trigger_source: 'scheduled' as const,
      schedule_type: 'weekly' as const,
      schedule_day: '2',
      schedule_time: '07:30',
      schedule_timezone: 'Europe/Berlin',
      match_field_path: 'stale',
      webhook_secret: 'ignored',
      repositories: ['stale/repo'],
    }
    expect(formToInput(form)).toEqual({
      name: 'nightly',
      prompt_template: '{message}',
      backend_type: 'command',
      trigger_source: 'scheduled',
      enabled: true,
      model: null,
      allowed_tools: null,
      paths: ['/a'],
      timeout_seconds: 600,
      sigterm_grace_seconds: 10,
      command: ['run', '{prompt}'],
      schedule_type: 'weekly',
      schedule_time: '07:30',
      schedule_day: 2,
      cron_expression: null,
      schedule_timezone: 'Europe/Berlin',
    })
  })

  it('leaves out empty numbers so the server keeps its value', () => {
    const input = formToInput({ ...emptyBotForm(), timeout_seconds: ' ', sigterm_grace_seconds: '' })
    expect(input).not.toHaveProperty('timeout_seconds')
    expect(input).not.toHaveProperty('sigterm_grace_seconds')
  })

  it('round-trips a stored bot', () => {
    const stored = bot({ trigger_source: 'github', repositories: ['octo/repo'], include_drafts: true })
    const input = formToInput(botToForm(stored))
    expect(input).toMatchObject({
      name: 'reviewer',
      repositories: ['octo/repo'],
      include_drafts: true,
      timeout_seconds: 600,
    })
    expect(input).not.toHaveProperty('match_field_path')
    expect(input).not.toHaveProperty('command')
  })
})
