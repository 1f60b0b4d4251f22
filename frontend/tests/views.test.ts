import { enableAutoUnmount, flushPromises } from '@vue/test-utils'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { setApiKey } from '@/api/client'
import { fakeServer, type FakeServer, type Routes } from './support/fakeServer'
import { makeBot, makeExecution } from './support/fixtures'
import { mountApp, settle } from './support/mountApp'
import { MockEventSource } from './support/mockEventSource'

const bot = makeBot({
  trigger_source: 'scheduled',
  schedule_type: 'daily',
  schedule_time: '09:00',
  schedule_timezone: 'UTC',
  next_run_at: '2026-11-25T09:00:00Z',
  last_execution: { id: 'e1', status: 'failed', started_at: '2026-11-24T10:00:00Z', finished_at: '2026-11-24T10:01:00Z' },
})

const execution = makeExecution()

let handlers: Routes
let server: FakeServer

enableAutoUnmount(afterEach)

beforeEach(() => {
  MockEventSource.reset()
  vi.stubGlobal('EventSource', MockEventSource)
  setApiKey('test-key')
  server = fakeServer({
    'GET /health/readiness': () => ({ status: 200, body: { status: 'ok' } }),
    'GET /admin/triggers': () => ({ status: 200, body: { triggers: [bot] } }),
    'GET /admin/triggers/b1': () => ({ status: 200, body: bot }),
    'GET /admin/triggers/b1/executions': () => ({
      status: 200,
      body: { executions: [execution], total: 1, limit: 20, offset: 0 },
    }),
    'GET /admin/executions/e1': () => ({ status: 200, body: { ...execution, logs: [], logs_truncated: false } }),
  })
  handlers = server.routes
})

afterEach(() => {
  setApiKey(null)
})

/** Opens `path` signed in with the key kept from before. */
const visit = (path: string) => mountApp(path)

describe('pages', () => {
  it('lists bots with their last run and next run', async () => {
    const { wrapper } = await visit('/bots')
    const rows = wrapper.findAll('[data-testid="bot-row"]')
    expect(rows).toHaveLength(1)
    expect(rows[0]?.attributes('data-bot-id')).toBe('b1')
    expect(rows[0]?.text()).toContain('reviewer')
    expect(rows[0]?.get('[data-testid="status-badge"]').attributes('data-status')).toBe('failed')
    expect(rows[0]?.find('time[datetime="2026-11-25T09:00:00Z"]').exists()).toBe(true)
  })

  it('shows an error with retry when the server fails', async () => {
    handlers['GET /admin/triggers'] = () => ({ status: 500, body: { error: 'internal server error' } })
    const { wrapper } = await visit('/bots')
    expect(wrapper.get('[data-testid="error-message"]').text()).toContain('internal server error')

    handlers['GET /admin/triggers'] = () => ({ status: 200, body: { triggers: [] } })
    await wrapper.get('[data-testid="retry-button"]').trigger('click')
    await flushPromises()
    expect(wrapper.find('[data-testid="empty-state"]').exists()).toBe(true)
  })

  it('runs a bot now and opens the new execution', async () => {
    handlers['POST /admin/triggers/b1/run'] = (init) => {
      expect(JSON.parse(String(init.body))).toEqual({ message: 'please check' })
      return { status: 202, body: { execution_id: 'e1', status: 'queued' } }
    }
    const { wrapper, router } = await visit('/bots/b1')
    expect(wrapper.get('[data-testid="bot-next-run"]').text()).not.toBe('—')
    await wrapper.get('[data-testid="run-message"]').setValue('please check')
    await wrapper.get('[data-testid="run-button"]').trigger('click')
    await settle()
    expect(router.currentRoute.value.fullPath).toBe('/executions/e1')
  })

  it('links to the running execution when a run is refused with 409', async () => {
    handlers['POST /admin/triggers/b1/run'] = () => ({
      status: 409,
      body: { error: 'reviewer is already running', execution_id: 'e7' },
    })
    const { wrapper } = await visit('/bots/b1')
    await wrapper.get('[data-testid="run-button"]').trigger('click')
    await flushPromises()
    expect(wrapper.get('[data-testid="error-message"]').text()).toContain('already running')
    expect(wrapper.get('[data-testid="running-execution-link"]').attributes('href')).toBe('/executions/e7')
  })

  it('previews the rendered prompt with unresolved placeholders', async () => {
    handlers['POST /admin/triggers/b1/preview-prompt'] = () => ({
      status: 200,
      body: { prompt: 'Review {pr_url}', unresolved: ['pr_url'] },
    })
    const { wrapper } = await visit('/bots/b1')
    await wrapper.get('[data-testid="preview-button"]').trigger('click')
    await flushPromises()
    expect(wrapper.get('[data-testid="prompt-preview-text"]').text()).toBe('Review {pr_url}')
    expect(wrapper.get('[data-testid="prompt-unresolved"]').text()).toContain('{pr_url}')
  })

  it("opens a CLI run's log, shows its conversation (stored, then live) a click away and remembers the choice", async () => {
    localStorage.removeItem('agented.executionTab')
    handlers['GET /admin/executions/e1/conversation'] = () => ({
      status: 200,
      body: {
        execution_id: 'e1',
        status: 'running',
        usage: null,
        last_seq: 2,
        more: false,
        entries: [{ seq: 2, items: [{ kind: 'message', role: 'assistant', text: 'I will **fix** it', delta: false }] }],
      },
    })
    const { wrapper } = await visit('/executions/e1')
    expect(wrapper.get('[data-testid="tab-log"]').attributes('aria-selected')).toBe('true')
    expect(wrapper.find('[data-testid="conversation"]').exists()).toBe(false)

    await wrapper.get('[data-testid="tab-conversation"]').trigger('click')
    await settle()
    expect(wrapper.get('[data-testid="conversation-message"]').html()).toContain('<strong>fix</strong>')
    const source = MockEventSource.latest()
    source.open()
    source.emit('conversation', { seq: 3, items: [{ kind: 'error', message: 'API error 529: retrying', retrying: true }] })
    await flushPromises()
    expect(wrapper.get('[data-testid="conversation-error"]').text()).toBe('API error 529: retrying')
    expect(localStorage.getItem('agented.executionTab')).toBe('conversation')
    localStorage.removeItem('agented.executionTab')
  })

  it('shows a running execution live and cancels it', async () => {
    handlers['POST /admin/executions/e1/cancel'] = () => ({ status: 202, body: { execution_id: 'e1', status: 'cancelling' } })
    const { wrapper } = await visit('/executions/e1')
    expect(wrapper.get('[data-testid="status-badge"]').attributes('data-status')).toBe('running')
    expect(wrapper.get('[data-testid="execution-command"]').text()).toBe('claude -p \'Review it\'')

    const source = MockEventSource.latest()
    expect(source.url).toBe('/admin/executions/e1/stream?token=token-1')
    source.open()
    source.emit('log', { seq: 1, stream: 'stdout', content: 'hello <b>', timestamp: '2026-11-24T10:00:02Z' })
    await new Promise((resolve) => setTimeout(resolve, 80))
    await flushPromises()
    expect(wrapper.get('[data-seq="1"]').text()).toContain('hello <b>')

    await wrapper.get('[data-testid="cancel-button"]').trigger('click')
    await flushPromises()
    expect(server.requests()).toContain('POST /admin/executions/e1/cancel')
    expect(wrapper.get('[data-testid="cancel-button"]').text()).toBe('Cancelling…')
    expect(wrapper.get('[data-testid="cancel-button"]').attributes('disabled')).toBeDefined()

    handlers['GET /admin/executions/e1'] = () => ({
      status: 200,
      body: { ...execution, status: 'cancelled', exit_code: -15, logs: [], logs_truncated: false },
    })
    source.emit('complete', { status: 'cancelled', exit_code: -15, error_message: null, duration_ms: 900, finished_at: '2026-11-24T10:00:02Z' })
    await flushPromises()
    expect(wrapper.get('[data-testid="status-badge"]').attributes('data-status')).toBe('cancelled')
    expect(wrapper.find('[data-testid="cancel-button"]').exists()).toBe(false)
    expect(wrapper.get('[data-testid="execution-exit-code"]').text()).toBe('SIGTERM (-15)')
  })

  it('shows the overview: active executions, chart, retries and recent results', async () => {
    const finished = { ...execution, id: 'e2', status: 'success', exit_code: 0, duration_ms: 1500 }
    handlers['GET /admin/executions'] = (_init, url) => {
      const status = url.searchParams.get('status')
      const executions = [execution, finished].filter((e) => !status || e.status === status)
      return { status: 200, body: { executions, total: executions.length, limit: 50, offset: 0 } }
    }
    handlers['GET /admin/executions/stats'] = () => ({
      status: 200,
      body: { days: [{ date: new Date().toISOString().slice(0, 10), total: 3, failed: 1 }] },
    })
    handlers['GET /admin/retries'] = () => ({
      status: 200,
      body: {
        retries: [
          { id: 'r1', trigger_id: 'b1', trigger_name: 'reviewer', execution_id: 'e0', attempt: 2, due_at: '2026-11-24T10:05:00Z', reason: 'rate limited', status: 'pending' },
        ],
      },
    })
    const { wrapper } = await visit('/')
    const tables = wrapper.findAll('[data-testid="executions-table"]')
    const ids = tables.map((table) =>
      table.findAll('[data-testid="execution-row"]').map((row) => row.attributes('data-execution-id')),
    )
    expect(ids).toEqual([['e1'], ['e2']])
    expect(wrapper.get('[data-testid="daily-chart"]').text()).toContain('Executions (3)')
    expect(wrapper.get('[data-testid="retry-row"]').text()).toContain('rate limited')
  })

  it('lists scheduler jobs with links to their bots, and system jobs as such', async () => {
    const retention = {
      id: 'housekeeping:retention',
      trigger_id: null,
      name: 'delete executions finished over 90 days ago',
      next_run_time: '2026-11-24T12:00:00Z',
    }
    handlers['GET /admin/scheduler/jobs'] = () => ({
      status: 200,
      body: { jobs: [{ id: 'bot:b1', trigger_id: 'b1', name: 'reviewer', next_run_time: '2026-11-25T09:00:00Z' }, retention] },
    })
    const { wrapper } = await visit('/schedules')
    const [botJob, systemJob] = wrapper.findAll('[data-testid="job-row"]')
    expect(botJob?.text()).toContain('bot:b1')
    expect(botJob?.get('a').attributes('href')).toBe('/bots/b1')

    expect(systemJob?.attributes('data-job-id')).toBe('housekeeping:retention')
    expect(systemJob?.get('[data-testid="job-system"]').text()).toBe('System')
    expect(systemJob?.text()).toContain('delete executions finished over 90 days ago')
    expect(systemJob?.find('a').exists()).toBe(false)
    expect(systemJob?.text()).not.toMatch(/deleted/)
  })

  it('shows a validation error next to its field without the field name in front', async () => {
    handlers['POST /admin/triggers'] = () => ({
      status: 400,
      body: { error: 'timeout_seconds: Input should be less than or equal to 86400', field: 'timeout_seconds' },
    })
    const { wrapper } = await visit('/bots/new')
    await wrapper.get('[data-testid="bot-field-name"]').setValue('reviewer')
    await wrapper.get('[data-testid="bot-form"]').trigger('submit')
    await flushPromises()
    expect(wrapper.get('[data-testid="field-error-timeout_seconds"]').text()).toBe('Input should be less than or equal to 86400')
    expect(document.activeElement?.id).toBe('bot-timeout_seconds')
  })

  it('leads from the Executions page to the deliveries no bot was concerned by, with their source and reason', async () => {
    handlers['GET /admin/executions'] = () => ({ status: 200, body: { executions: [], total: 0, limit: 25, offset: 0 } })
    handlers['GET /admin/deliveries'] = () => ({
      status: 200,
      body: {
        deliveries: [
          {
            id: 2,
            bot_id: null,
            received_at: '2026-11-24T10:00:00Z',
            source: 'github',
            delivery_id: 'gh-1',
            event: 'ping',
            outcome: 'ignored',
            reason: 'ping',
            execution_id: null,
          },
          {
            id: 1,
            bot_id: null,
            received_at: '2026-11-24T09:00:00Z',
            source: 'webhook',
            delivery_id: null,
            event: null,
            outcome: 'ignored',
            reason: 'no webhook bot matched this payload',
            execution_id: null,
          },
        ],
      },
    })
    const { wrapper, router } = await visit('/executions')
    await wrapper.get('[data-testid="deliveries-link"]').trigger('click')
    await settle()
    expect(router.currentRoute.value.fullPath).toBe('/deliveries')
    const rows = wrapper.findAll('[data-testid="delivery-row"]')
    expect(rows.map((row) => row.get('[data-testid="delivery-source"]').text())).toEqual(['github', 'webhook'])
    expect(rows[0]?.text()).toContain('gh-1')
    expect(rows[1]?.text()).toContain('no webhook bot matched this payload')
    expect(server.requests()).toContain('GET /admin/deliveries')
  })

  it('shows a 404 page for unknown routes', async () => {
    const { wrapper } = await visit('/no/such/page')
    expect(wrapper.get('[data-testid="not-found"]').text()).toContain('/no/such/page')
  })
})
