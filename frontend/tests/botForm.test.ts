import { flushPromises, mount, type VueWrapper } from '@vue/test-utils'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import * as client from '@/api/client'
import {
  BACKEND_TYPES,
  TRIGGER_SOURCES,
  type BackendType,
  type Bot,
  type InstalledBackend,
  type TriggerSource,
} from '@/api/types'
import BotForm from '@/components/bot/BotForm.vue'
import {
  botToForm,
  chainChoices,
  chainNotes,
  emptyBotForm,
  formToInput,
  moveInChain,
} from '@/lib/botForm'
import { SPEND_LIMIT_FIELDS } from '@/lib/spendLimits'
import { makeAccount, makeAgent, makeBot } from './support/fixtures'

vi.mock('@/api/client', async (importOriginal) => {
  const actual = await importOriginal<typeof client>()
  return { ...actual, createBot: vi.fn(), updateBot: vi.fn(), listBackends: vi.fn(), listAccounts: vi.fn(), listAgents: vi.fn() }
})

const createBot = vi.mocked(client.createBot)
const updateBot = vi.mocked(client.updateBot)
const listBackends = vi.mocked(client.listBackends)
const listAccounts = vi.mocked(client.listAccounts)
const listAgents = vi.mocked(client.listAgents)

/** What `GET /admin/backends` answers when only the CLIs named are installed. */
function serverWith(...installed: BackendType[]): InstalledBackend[] {
  return BACKEND_TYPES.map((type) => {
    const found = type === 'command' || installed.includes(type)
    return {
      backend_type: type,
      installed: found,
      path: found && type !== 'command' ? `/usr/bin/${type}` : null,
      version: found && type !== 'command' ? '1.0.0' : null,
    }
  })
}

/** The accounts the server has: two codex logins and a claude key. */
const ACCOUNTS = [
  makeAccount({ id: 'acc_1', name: 'Work', backend: 'codex' }),
  makeAccount({ id: 'acc_2', name: 'Home', backend: 'codex', state: 'limited' }),
  makeAccount({ id: 'acc_3', name: 'Anthropic key', backend: 'claude' }),
]

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

function mountForm(props: { bot?: Bot; backend?: BackendType } = {}) {
  return mount(BotForm, { props, attachTo: document.body })
}

beforeEach(() => {
  createBot.mockReset()
  updateBot.mockReset()
  listBackends.mockReset()
  listBackends.mockResolvedValue(serverWith(...BACKEND_TYPES))
  listAccounts.mockReset()
  listAccounts.mockResolvedValue(ACCOUNTS)
  listAgents.mockReset()
  listAgents.mockResolvedValue([makeAgent({ id: 'agt_1', name: 'Reviewer', role: 'reviews' })])
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
    await wrapper.get('[data-testid="bot-field-timeout_seconds"]').setValue('5')
    await wrapper.get('[data-testid="bot-form"]').trigger('submit')
    await flushPromises()

    expect(createBot).toHaveBeenCalledWith(expect.objectContaining({ name: 'nightly', timeout_seconds: 5 }))
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
    await wrapper.get('[data-testid="bot-field-name"]').setValue('x')
    await wrapper.get('[data-testid="bot-form"]').trigger('submit')
    await flushPromises()
    expect(wrapper.get('[data-testid="field-error-name"]').text()).toContain('already exists')
  })

  it('shows errors without a visible field above the buttons', async () => {
    createBot.mockRejectedValue(new client.ApiError(500, 'internal server error'))
    const wrapper = mountForm()
    await wrapper.get('[data-testid="bot-field-name"]').setValue('x')
    await wrapper.get('[data-testid="bot-form"]').trigger('submit')
    await flushPromises()
    expect(wrapper.get('[data-testid="error-message"]').text()).toContain('internal server error')
    expect(wrapper.find('[data-testid^="field-error-"]').exists()).toBe(false)
  })

  it('checks the form in the browser first and shows every problem at once, sending nothing', async () => {
    const wrapper = mountForm()
    await wrapper.get('[data-testid="bot-field-timeout_seconds"]').setValue('0')
    await wrapper.get('[data-testid="bot-form"]').trigger('submit')
    await flushPromises()
    expect(createBot).not.toHaveBeenCalled()
    expect(wrapper.get('[data-testid="field-error-name"]').text()).toBe('Give the bot a name.')
    expect(wrapper.get('[data-testid="field-error-timeout_seconds"]').text()).toMatch(/from 1 to 86,400/)
    expect(wrapper.get('[data-testid="bot-form-problems"]').findAll('li')).toHaveLength(2)
    expect(document.activeElement).toBe(wrapper.get('[data-testid="bot-field-name"]').element)
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

/** The settings each trigger source owns; the form shows them for that source only. */
const SOURCE_FIELDS: Record<TriggerSource, string[]> = {
  manual: [],
  scheduled: ['schedule_type', 'schedule_time', 'schedule_day', 'cron_expression', 'schedule_timezone'],
  webhook: ['webhook_secret', 'match_field_path', 'match_field_value', 'text_field_path', 'detection_keyword'],
  github: ['repositories', 'include_drafts'],
}
/** Fields shown whatever the trigger source, for the default backend (Claude Code: no command). */
const COMMON_FIELDS = Object.keys(emptyBotForm()).filter(
  (field) => !Object.values(SOURCE_FIELDS).flat().includes(field) && field !== 'command',
)

function shows(wrapper: VueWrapper, field: string): boolean {
  return wrapper.find(`[data-testid="bot-field-${field}"]`).exists()
}

describe('BotForm backends', () => {
  const backendOf = (wrapper: VueWrapper) =>
    (wrapper.get('[data-testid="bot-field-backend_type"]').element as HTMLSelectElement).value

  it('starts a new bot with the first AI CLI installed on the server', async () => {
    listBackends.mockResolvedValue(serverWith('gemini', 'codex'))
    const wrapper = mountForm()
    await flushPromises()
    expect(backendOf(wrapper)).toBe('codex')
    expect(wrapper.find('[data-testid="backend-missing"]').exists()).toBe(false)
  })

  it('starts a new bot with a command when the server has no AI CLI', async () => {
    listBackends.mockResolvedValue(serverWith())
    const wrapper = mountForm()
    await flushPromises()
    expect(backendOf(wrapper)).toBe('command')
    expect(wrapper.find('[data-testid="bot-field-command"]').exists()).toBe(true)
  })

  it('keeps the backend of a stored bot, of the link, and the one the user picked', async () => {
    listBackends.mockResolvedValue(serverWith('codex'))
    const stored = mountForm({ bot: bot({ backend_type: 'opencode' }) })
    const linked = mountForm({ backend: 'gemini' })
    let resolve: (backends: InstalledBackend[]) => void = () => {}
    listBackends.mockReturnValue(new Promise((done) => (resolve = done)))
    const picked = mountForm()
    await picked.get('[data-testid="bot-field-backend_type"]').setValue('opencode')
    resolve(serverWith('codex'))
    await flushPromises()
    expect([backendOf(stored), backendOf(linked), backendOf(picked)]).toEqual(['opencode', 'gemini', 'opencode'])
  })

  it('warns next to the backend choice when the chosen CLI is not installed on the server', async () => {
    listBackends.mockResolvedValue(serverWith('codex'))
    const wrapper = mountForm()
    await flushPromises()
    await wrapper.get('[data-testid="bot-field-backend_type"]').setValue('claude')
    expect(wrapper.get('[data-testid="backend-missing"]').text()).toContain('Claude Code (claude) is not installed')

    await wrapper.get('[data-testid="bot-field-backend_type"]').setValue('command')
    expect(wrapper.find('[data-testid="backend-missing"]').exists()).toBe(false)
  })

  it('warns about nothing while the server has not said what it has', async () => {
    listBackends.mockRejectedValue(new client.ApiError(500, 'internal server error'))
    const wrapper = mountForm()
    await flushPromises()
    expect(backendOf(wrapper)).toBe('claude')
    expect(wrapper.find('[data-testid="backend-missing"]').exists()).toBe(false)
  })
})

describe('BotForm trigger sources', () => {
  it.each(TRIGGER_SOURCES)('shows the settings of the %s source only for that source', async (source) => {
    const wrapper = mountForm()
    await wrapper.get('[data-testid="bot-field-trigger_source"]').setValue(source)

    // A daily schedule has a time but no day; a cron expression replaces both.
    const expected = SOURCE_FIELDS[source].filter((field) => !['schedule_day', 'cron_expression'].includes(field))
    const others = TRIGGER_SOURCES.filter((other) => other !== source).flatMap((other) => SOURCE_FIELDS[other])
    expect(expected.filter((field) => !shows(wrapper, field))).toEqual([])
    expect(others.filter((field) => shows(wrapper, field))).toEqual([])
    expect(COMMON_FIELDS.filter((field) => !shows(wrapper, field))).toEqual([])
  })

  it('shows and sends the output format for Claude Code only', async () => {
    createBot.mockResolvedValue(bot())
    const wrapper = mountForm()
    await wrapper.get('[data-testid="bot-field-name"]').setValue('formats')
    await wrapper.get('[data-testid="bot-field-output_format"]').setValue('json')
    await wrapper.get('[data-testid="bot-form"]').trigger('submit')
    await flushPromises()
    expect(createBot.mock.calls[0]?.[0]).toMatchObject({ backend_type: 'claude', output_format: 'json' })

    await wrapper.get('[data-testid="bot-field-backend_type"]').setValue('codex')
    expect(shows(wrapper, 'output_format')).toBe(false)
    await wrapper.get('[data-testid="bot-form"]').trigger('submit')
    await flushPromises()
    expect(createBot.mock.calls[1]?.[0]).not.toHaveProperty('output_format')
  })
})

type FieldValue = string | boolean | string[]

/** Sets a field's control as a person would: typing, choosing, ticking, or filling list rows. */
async function edit(wrapper: VueWrapper, field: string, value: FieldValue): Promise<void> {
  if (!Array.isArray(value)) {
    await wrapper.get(`[data-testid="bot-field-${field}"]`).setValue(value)
    return
  }
  const rows = () => wrapper.findAll(`[data-testid="bot-field-${field}-item"]`)
  while (rows().length < value.length) await wrapper.get(`[data-testid="bot-field-${field}-add"]`).trigger('click')
  for (const [index, item] of value.entries()) await rows()[index]!.setValue(item)
}

/**
 * Forms that together show every writable field, each with a value other than
 * its default. The selects that decide which fields are shown come first.
 */
const EVERY_FIELD: Record<string, FieldValue>[] = [
  {
    trigger_source: 'webhook',
    name: 'all-fields',
    prompt_template: 'Handle {message}',
    enabled: false,
    allow_concurrent_runs: true,
    worker_label: 'gpu',
    model: 'opus',
    allowed_tools: 'Read,Edit',
    output_format: 'json',
    paths: ['/srv/a', '/srv/b'],
    timeout_seconds: '120',
    sigterm_grace_seconds: '3',
    webhook_secret: 'a-long-secret',
    match_field_path: 'event.type',
    match_field_value: 'alert',
    text_field_path: 'message.text',
    detection_keyword: '@bot',
    agent_id: 'agt_1',
    account_chain: ['acc_2', 'acc_1'],
    daily_usd_limit: '2.5',
    monthly_usd_limit: '40',
    daily_token_limit: '100000',
    monthly_token_limit: '2000000',
  },
  {
    backend_type: 'command',
    trigger_source: 'github',
    name: 'all-fields',
    command: ['agent', '--ask', '{prompt}'],
    repositories: ['octo/repo'],
    include_drafts: true,
  },
  {
    trigger_source: 'scheduled',
    name: 'all-fields',
    schedule_type: 'weekly',
    schedule_day: '3',
    schedule_time: '07:30',
    schedule_timezone: 'Europe/Berlin',
  },
  { trigger_source: 'scheduled', name: 'all-fields', schedule_type: 'cron', cron_expression: '0 9 * * mon' },
]

/** What the API gets for a value typed into a number input. */
const NUMBER_FIELDS = ['timeout_seconds', 'sigterm_grace_seconds', 'schedule_day', ...SPEND_LIMIT_FIELDS]

describe('BotForm agent', () => {
  it('offers the agents by name and keeps an agent it does not know', async () => {
    const wrapper = mountForm({ bot: bot({ agent_id: 'agt_gone' }) })
    await flushPromises()
    const options = wrapper.findAll('[data-testid="bot-field-agent_id"] option')
    expect(options.map((option) => [option.attributes('value'), option.text()])).toEqual([
      ['', 'None'],
      ['agt_1', 'Reviewer — reviews'],
      ['agt_gone', 'Unknown agent agt_gone'],
    ])
    expect((wrapper.get('[data-testid="bot-field-agent_id"]').element as HTMLSelectElement).value).toBe('agt_gone')
  })
})

describe('BotForm fields', () => {
  it('covers every writable field of the API between its forms', () => {
    const covered = new Set(EVERY_FIELD.flatMap((values) => Object.keys(values)))
    expect([...covered].sort()).toEqual(Object.keys(emptyBotForm()).sort())
  })

  it.each(EVERY_FIELD.map((values, index) => [index, values] as const))(
    'edits and sends every field it shows (form %i)',
    async (_, values) => {
      createBot.mockResolvedValue(bot())
      const wrapper = mountForm()
      for (const [field, value] of Object.entries(values)) await edit(wrapper, field, value)
      await wrapper.get('[data-testid="bot-form"]').trigger('submit')
      await flushPromises()

      const sent = Object.fromEntries(
        Object.entries(values).map(([field, value]) => [field, NUMBER_FIELDS.includes(field) ? Number(value) : value]),
      )
      expect(createBot).toHaveBeenCalledTimes(1)
      expect(createBot.mock.calls[0]?.[0]).toMatchObject(sent)
    },
  )

  it('shows a stored bot\'s output format and concurrency in the form', () => {
    const wrapper = mountForm({ bot: bot({ output_format: 'json', allow_concurrent_runs: true }) })
    const format = wrapper.get('[data-testid="bot-field-output_format"]').element as HTMLSelectElement
    const concurrent = wrapper.get('[data-testid="bot-field-allow_concurrent_runs"]').element as HTMLInputElement
    expect(format.value).toBe('json')
    expect(concurrent.checked).toBe(true)
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
      allow_concurrent_runs: false,
      worker_label: null,
      command: ['run', '{prompt}'],
      schedule_type: 'weekly',
      schedule_time: '07:30',
      schedule_day: 2,
      cron_expression: null,
      schedule_timezone: 'Europe/Berlin',
      agent_id: null,
      account_chain: [],
      daily_usd_limit: null,
      monthly_usd_limit: null,
      daily_token_limit: null,
      monthly_token_limit: null,
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

  it('keeps the agent a stored bot acts as, and clears it when the field is emptied', () => {
    const form = botToForm(bot({ agent_id: 'agt_1' }))
    expect(formToInput(form)).toMatchObject({ agent_id: 'agt_1' })
    expect(formToInput({ ...form, agent_id: ' ' })).toMatchObject({ agent_id: null })
  })
})

describe('the fallback chain and spend limits', () => {
  it('offers each account once across the chain, by name', () => {
    const chain = ['acc_2', '']
    expect(chainChoices(ACCOUNTS, chain, 1).map((account) => account.id)).toEqual(['acc_3', 'acc_1'])
    expect(chainChoices(ACCOUNTS, chain, 0).map((account) => account.id)).toEqual(['acc_3', 'acc_2', 'acc_1'])
  })

  it('moves an account up and down the chain, and nowhere past its ends', () => {
    expect(moveInChain(['a', 'b', 'c'], 2, 0)).toEqual(['c', 'a', 'b'])
    expect(moveInChain(['a', 'b', 'c'], 0, 1)).toEqual(['b', 'a', 'c'])
    expect(moveInChain(['a', 'b'], 1, 2)).toEqual(['a', 'b'])
    expect(moveInChain(['a', 'b'], -1, 0)).toEqual(['a', 'b'])
  })

  it("points out accounts of another backend and ids that no longer exist", () => {
    expect(chainNotes(ACCOUNTS, ['acc_1', 'acc_3', 'acc_gone'], 'codex')).toEqual([
      "Anthropic key runs claude, not codex: the bot's model is not used there",
      'acc_gone: no such account',
    ])
    expect(chainNotes(ACCOUNTS, ['acc_1'], 'codex')).toEqual([])
  })

  it('round-trips a stored chain and limits, and clears an emptied limit', () => {
    const stored = bot({ account_chain: ['acc_1', 'acc_3'], daily_usd_limit: 2.5, monthly_token_limit: 1000 })
    const form = botToForm(stored)
    expect(form.daily_usd_limit).toBe('2.5')
    expect(formToInput(form)).toMatchObject({
      account_chain: ['acc_1', 'acc_3'],
      daily_usd_limit: 2.5,
      monthly_usd_limit: null,
      monthly_token_limit: 1000,
    })
    expect(formToInput({ ...form, daily_usd_limit: ' ', account_chain: ['acc_1', ''] })).toMatchObject({
      account_chain: ['acc_1'],
      daily_usd_limit: null,
    })
  })

  it('reorders and removes accounts in the form, and sends the chain in its order', async () => {
    createBot.mockResolvedValue(bot())
    const wrapper = mountForm()
    await flushPromises()
    await edit(wrapper, 'account_chain', ['acc_1', 'acc_3', 'acc_2'])
    await wrapper.get('[aria-label="Move account 3 up"]').trigger('click')
    await wrapper.get('[aria-label="Remove account 1"]').trigger('click')
    expect(wrapper.get('[data-testid="chain-notes"]').text()).toBe("Home runs codex, not claude: the bot's model is not used there")
    await wrapper.get('[data-testid="bot-field-name"]').setValue('chained')
    await wrapper.get('[data-testid="bot-form"]').trigger('submit')
    await flushPromises()
    expect(createBot.mock.calls[0]?.[0]).toMatchObject({ account_chain: ['acc_2', 'acc_3'] })
  })

  it('shows the server refusing the chain next to it', async () => {
    createBot.mockRejectedValue(new client.ApiError(400, 'no account acc_9', 'account_chain'))
    const wrapper = mountForm()
    await wrapper.get('[data-testid="bot-field-name"]').setValue('chained')
    await wrapper.get('[data-testid="bot-form"]').trigger('submit')
    await flushPromises()
    expect(wrapper.get('[data-testid="field-error-account_chain"]').text()).toContain('no account acc_9')
  })
})
