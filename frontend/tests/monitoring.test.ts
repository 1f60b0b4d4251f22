import { enableAutoUnmount, flushPromises } from '@vue/test-utils'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { setApiKey } from '@/api/client'
import type { Account, AccountStatus, History, MonitoringStatus } from '@/api/types'
import { accountBody, formFor, rowsToEnv } from '@/lib/accounts'
import { labelsThatFit, niceMax, showsLabel, ticks } from '@/lib/chart'
import { againstLimit, historyBars, percent, usd } from '@/lib/monitoring'
import { fakeServer, type FakeServer } from './support/fakeServer'
import { makeAccount, makeExecution } from './support/fixtures'
import { mountApp, settle } from './support/mountApp'

enableAutoUnmount(afterEach)

/** A Claude account as these tests use it. */
function claudeAccount(overrides: Partial<Account> = {}): Account {
  return makeAccount({
    backend: 'claude',
    env: { CLAUDE_CONFIG_DIR: '/srv/claude-work' },
    is_default: true,
    secret_env_names: ['ANTHROPIC_API_KEY'],
    created_at: '2026-11-24T10:00:00Z',
    updated_at: '2026-11-24T10:00:00Z',
    ...overrides,
  })
}

const usage = { runs: 3, tokens: 1500, cost_usd: 0.5, rate_limits: 1 }
const noLimits = { daily_usd_limit: null, monthly_usd_limit: null, daily_token_limit: null, monthly_token_limit: null }

function makeAccountStatus(overrides: Partial<AccountStatus> = {}): AccountStatus {
  return {
    id: 'acc_1',
    name: 'Work',
    backend: 'claude',
    state: 'limited',
    limited_until: '2099-01-01T00:00:00.000+00:00',
    limited_reason: 'Claude usage limit reached (5-hour)',
    today: usage,
    month: { ...usage, runs: 10, cost_usd: 4 },
    limits: { ...noLimits, monthly_usd_limit: 20 },
    ...overrides,
  }
}

const status: MonitoringStatus = {
  generated_at: '2026-11-24T12:00:00.000+00:00',
  running: 2,
  queued: 1,
  waiting: 3,
  by_status: { running: 2, queued: 1, waiting: 3, success: 9 },
  active: [makeExecution({ id: 'e1', status: 'running' })],
  accounts: [makeAccountStatus()],
  bots: [{ bot_id: 'b1', bot_name: 'reviewer', runs_24h: 4, success_rate_24h: 0.75, runs_7d: 9, success_rate_7d: null }],
}

function history(hours: number, bucket: History['bucket']): History {
  const point = { runs: 0, failures: 0, rate_limits: 0, tokens: 0, cost_usd: 0 }
  return {
    hours,
    bucket,
    points: [
      { ...point, start: '2026-11-24T10:00:00.000+00:00', runs: 5, failures: 2, tokens: 900, cost_usd: 0.25 },
      { ...point, start: '2026-11-24T11:00:00.000+00:00', runs: 1, rate_limits: 1 },
    ],
  }
}

describe('chart scales', () => {
  it('round the top of the axis up at its leading digit, with a floor for counts', () => {
    expect(niceMax([37])).toBe(40)
    expect(niceMax([0.37])).toBeCloseTo(0.4)
    expect(niceMax([1, 2], 4)).toBe(4)
    expect(niceMax([], 0)).toBe(1)
    expect(ticks(40, true)).toEqual([0, 10, 20, 30, 40])
    expect(ticks(0.4, false)[1]).toBeCloseTo(0.1)
  })

  it('label about eight bars, always the newest', () => {
    const shown = Array.from({ length: 24 }, (_, index) => showsLabel(index, 24)).filter(Boolean)
    expect(shown).toHaveLength(8)
    expect(showsLabel(23, 24)).toBe(true)
    expect(Array.from({ length: 5 }, (_, index) => showsLabel(index, 5)).every(Boolean)).toBe(true)
  })

  it('fit fewer labels the longer they are', () => {
    expect(labelsThatFit(508, 6)).toBe(10)
    expect(labelsThatFit(508, 12)).toBe(5)
    expect(labelsThatFit(100, 40)).toBe(2)
  })
})

describe('monitoring figures', () => {
  it('make bars of a metric, with its part when asked', () => {
    const bars = historyBars(history(2, '1h').points, '1h', 'runs', 'failures')
    expect(bars.map((bar) => [bar.value, bar.part])).toEqual([
      [5, 2],
      [1, 0],
    ])
    expect(historyBars(history(2, '1h').points, '1h', 'tokens')[0]).not.toHaveProperty('part')
  })

  it('write rates, costs and use against a limit', () => {
    expect(percent(0.754)).toBe('75%')
    expect(percent(null)).toBe('—')
    expect(usd(1.5)).toBe('$1.50')
    expect(usd(0.0042)).toBe('$0.0042')
    expect(againstLimit(1.2, 5, usd)).toBe('$1.20 of $5.00')
    expect(againstLimit(1.2, null, usd)).toBe('$1.20')
  })
})

describe('the account form', () => {
  it('turns rows into variables, dropping blank ones and refusing bad or repeated names', () => {
    expect(rowsToEnv([{ name: ' HOME_DIR ', value: '/x' }, { name: '', value: '' }], 'env')).toEqual({ ok: true, value: { HOME_DIR: '/x' } })
    expect(rowsToEnv([{ name: '1X', value: 'y' }], 'env')).toMatchObject({ ok: false, field: 'env' })
    expect(rowsToEnv([{ name: 'A', value: '1' }, { name: 'A', value: '2' }], 'secret_env')).toMatchObject({
      ok: false,
      error: 'secret_env: A is listed twice',
    })
  })

  it('sends secret variables only when they change: kept, replaced as a set, or cleared', () => {
    const form = formFor(claudeAccount(), 'claude')
    expect(form.env).toEqual([{ name: 'CLAUDE_CONFIG_DIR', value: '/srv/claude-work' }])
    expect(accountBody(form)).toEqual({
      ok: true,
      value: {
        name: 'Work',
        backend: 'claude',
        is_default: true,
        env: { CLAUDE_CONFIG_DIR: '/srv/claude-work' },
        daily_usd_limit: null,
        monthly_usd_limit: null,
        daily_token_limit: null,
        monthly_token_limit: null,
      },
    })
    form.secrets = 'clear'
    expect(accountBody(form)).toMatchObject({ ok: true, value: { secret_env: null } })
    form.secrets = 'replace'
    form.secretRows = [{ name: 'ANTHROPIC_API_KEY', value: 'sk-new' }]
    expect(accountBody(form)).toMatchObject({ ok: true, value: { secret_env: { ANTHROPIC_API_KEY: 'sk-new' } } })
  })

  it('edits the spend limits, an empty one sent as no limit', () => {
    const form = formFor(claudeAccount({ daily_usd_limit: 5, monthly_token_limit: 2000 }), 'claude')
    expect(form.limits).toEqual({ daily_usd_limit: '5', monthly_usd_limit: '', daily_token_limit: '', monthly_token_limit: '2000' })
    form.limits.daily_usd_limit = ''
    form.limits.monthly_usd_limit = '12.5'
    expect(accountBody(form)).toMatchObject({
      ok: true,
      value: { daily_usd_limit: null, monthly_usd_limit: 12.5, daily_token_limit: null, monthly_token_limit: 2000 },
    })
  })

  it('starts a new account with secrets to set and nothing else', () => {
    const form = formFor(null, 'codex')
    expect([form.backend, form.secrets, form.env]).toEqual(['codex', 'replace', []])
  })
})

describe('the Monitoring page', () => {
  let server: FakeServer

  beforeEach(() => {
    setApiKey('test-key')
    server = fakeServer({
      'GET /health/readiness': () => ({ status: 200, body: { status: 'ok' } }),
      'GET /admin/monitoring/status': () => ({ status: 200, body: status }),
      'GET /admin/monitoring/history': (_init, url) => ({
        status: 200,
        body: history(Number(url.searchParams.get('hours')), url.searchParams.get('bucket') as History['bucket']),
      }),
    })
  })

  afterEach(() => setApiKey(null))

  it('is in the navigation instead of the placeholder', async () => {
    const { wrapper } = await mountApp('/')
    expect(wrapper.get('[data-testid="nav-monitoring"]').attributes('href')).toBe('/monitoring')
    expect(wrapper.get('[data-testid="nav-accounts"]').attributes('href')).toBe('/accounts')
    expect(wrapper.text()).not.toContain('Soon')
  })

  it('shows what runs now, the history charts, the accounts against their limits and the bots', async () => {
    const { wrapper } = await mountApp('/monitoring')
    expect(wrapper.get('[data-testid="now-waiting"]').text()).toContain('3')
    expect(wrapper.get('[data-testid="execution-row"]').attributes('data-execution-id')).toBe('e1')
    expect(wrapper.get('[data-testid="chart-runs"]').text()).toContain('Runs (6)')
    expect(wrapper.get('[data-testid="chart-runs"]').text()).toContain('Failed (2)')
    expect(wrapper.get('[data-testid="chart-cost"]').text()).toContain('$0.25')
    const account = wrapper.get('[data-testid="monitoring-account"]')
    expect(account.get('[data-testid="account-state"]').attributes('data-state')).toBe('limited')
    expect(account.text()).toContain('Claude usage limit reached (5-hour)')
    expect(account.get('[data-testid="account-month"]').text()).toContain('$4.00 of $20.00')
    expect(account.get('[data-testid="account-today"]').text()).toContain('$0.50')
    expect(wrapper.get('[data-testid="bot-success-24h"]').text()).toBe('75%')
    expect(server.requests()).toContain('GET /admin/monitoring/history?hours=24&bucket=1h')
  })

  it('asks for another range when one is chosen', async () => {
    const { wrapper } = await mountApp('/monitoring')
    await wrapper.get('[data-testid="history-range"]').setValue('30d')
    await settle()
    expect(server.requests()).toContain('GET /admin/monitoring/history?hours=720&bucket=1d')
  })

  it('clears a limited account and shows the state again', async () => {
    server.routes['POST /admin/accounts/acc_1/clear'] = () => ({ status: 200, body: claudeAccount() })
    const { wrapper } = await mountApp('/monitoring')
    await wrapper.get('[data-testid="monitoring-clear"]').trigger('click')
    await settle()
    expect(server.requests().filter((request) => request === 'GET /admin/monitoring/status')).toHaveLength(2)
  })
})

describe('the Accounts page', () => {
  let server: FakeServer
  let accounts: Account[]

  beforeEach(() => {
    setApiKey('test-key')
    accounts = [claudeAccount(), claudeAccount({ id: 'acc_2', name: 'Spare', is_default: false, state: 'limited', limited_until: '2099-01-01T00:00:00Z', secret_env_names: [] })]
    server = fakeServer({
      'GET /health/readiness': () => ({ status: 200, body: { status: 'ok' } }),
      'GET /admin/accounts': () => ({ status: 200, body: { accounts } }),
    })
  })

  afterEach(() => setApiKey(null))

  it('lists accounts with their state and variable names, secrets by name only', async () => {
    const { wrapper } = await mountApp('/accounts')
    const rows = wrapper.findAll('[data-testid="account-row"]')
    expect(rows.map((row) => row.attributes('data-account-name'))).toEqual(['Work', 'Spare'])
    expect(rows[0]?.get('[data-testid="account-secret"]').text()).toContain('ANTHROPIC_API_KEY')
    expect(rows[0]?.find('[data-testid="account-clear"]').exists()).toBe(false)
    expect(rows[1]?.get('[data-testid="account-state"]').attributes('data-state')).toBe('limited')
  })

  it('creates an account with a secret variable', async () => {
    let sent: unknown = null
    server.routes['POST /admin/accounts'] = (init) => {
      sent = JSON.parse(String(init.body))
      return { status: 201, body: claudeAccount({ id: 'acc_3', name: 'Keys' }) }
    }
    const { wrapper } = await mountApp('/accounts')
    await wrapper.get('[data-testid="account-new"]').trigger('click')
    await wrapper.get('[data-testid="account-name"]').setValue('Keys')
    await wrapper.get('[data-testid="account-backend"]').setValue('codex')
    await wrapper.get('[data-testid="account-secret-add"]').trigger('click')
    await wrapper.get('[data-testid="account-secret-name"]').setValue('OPENAI_API_KEY')
    await wrapper.get('[data-testid="account-secret-value"]').setValue('sk-secret')
    expect(wrapper.get('[data-testid="account-secret-value"]').attributes('type')).toBe('password')
    await wrapper.get('[data-testid="account-form"]').trigger('submit')
    await settle()
    expect(sent).toEqual({
      name: 'Keys',
      backend: 'codex',
      is_default: false,
      env: {},
      secret_env: { OPENAI_API_KEY: 'sk-secret' },
      daily_usd_limit: null,
      monthly_usd_limit: null,
      daily_token_limit: null,
      monthly_token_limit: null,
    })
    expect(wrapper.find('[data-testid="account-form"]').exists()).toBe(false)
  })

  it('edits an account keeping its secrets unless asked, and shows a field error from the server', async () => {
    const bodies: unknown[] = []
    server.routes['PUT /admin/accounts/acc_1'] = (init) => {
      bodies.push(JSON.parse(String(init.body)))
      return bodies.length === 1
        ? { status: 400, body: { error: "name: an account named 'Spare' already exists", field: 'name' } }
        : { status: 200, body: claudeAccount() }
    }
    const { wrapper } = await mountApp('/accounts')
    await wrapper.findAll('[data-testid="account-edit"]')[0]?.trigger('click')
    expect(wrapper.get('[data-testid="account-secret-names"]').text()).toContain('ANTHROPIC_API_KEY')
    expect(wrapper.find('[data-testid="account-secret-value"]').exists()).toBe(false)
    await wrapper.get('[data-testid="account-name"]').setValue('Spare')
    await wrapper.get('[data-testid="account-form"]').trigger('submit')
    await settle()
    expect(wrapper.get('[data-testid="field-error-name"]').text()).toContain('already exists')
    expect(bodies[0]).not.toHaveProperty('secret_env')
    await wrapper.get('[data-testid="account-name"]').setValue('Work 2')
    await wrapper.get('[data-testid="account-secrets-clear"]').setValue(true)
    await wrapper.get('[data-testid="account-form"]').trigger('submit')
    await settle()
    expect(bodies[1]).toMatchObject({ name: 'Work 2', secret_env: null })
  })

  it('clears a limited state and deletes after asking', async () => {
    server.routes['POST /admin/accounts/acc_2/clear'] = () => ({ status: 200, body: accounts[1] })
    server.routes['DELETE /admin/accounts/acc_2'] = () => ({ status: 204 })
    const { wrapper } = await mountApp('/accounts')
    await wrapper.get('[data-testid="account-clear"]').trigger('click')
    await flushPromises()
    await wrapper.findAll('[data-testid="account-delete"]')[1]?.trigger('click')
    await wrapper.get('[data-testid="account-delete-confirm"]').trigger('click')
    await settle()
    expect(server.requests()).toEqual(expect.arrayContaining(['POST /admin/accounts/acc_2/clear', 'DELETE /admin/accounts/acc_2']))
  })
})
