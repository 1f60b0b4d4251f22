import { enableAutoUnmount } from '@vue/test-utils'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { setApiKey } from '@/api/client'
import { BACKEND_TYPES, type InstalledBackend } from '@/api/types'
import { EXAMPLE_BOT } from '@/lib/backends'
import { fakeServer, type FakeServer, type Routes } from './support/fakeServer'
import { makeBot } from './support/fixtures'
import { mountApp, settle } from './support/mountApp'

/** claude and codex installed (with their versions), gemini and opencode missing. */
const BACKENDS: InstalledBackend[] = BACKEND_TYPES.map((type) => ({
  backend_type: type,
  installed: ['claude', 'codex', 'command'].includes(type),
  path: ['claude', 'codex'].includes(type) ? `/usr/local/bin/${type}` : null,
  version: { claude: '2.0.14 (Claude Code)', codex: 'codex-cli 0.46.0' }[type as string] ?? null,
}))

const emptyPage = { executions: [], total: 0, limit: 50, offset: 0 }

let handlers: Routes
let server: FakeServer

enableAutoUnmount(afterEach)

beforeEach(() => {
  setApiKey('test-key')
  server = fakeServer({
    'GET /health/readiness': () => ({ status: 200, body: { status: 'ok' } }),
    'GET /admin/triggers': () => ({ status: 200, body: { triggers: [] } }),
    'GET /admin/backends': () => ({ status: 200, body: { backends: BACKENDS } }),
    'GET /admin/executions': () => ({ status: 200, body: emptyPage }),
    'GET /admin/executions/stats': () => ({ status: 200, body: { days: [] } }),
    'GET /admin/retries': () => ({ status: 200, body: { retries: [] } }),
  })
  handlers = server.routes
})

afterEach(() => {
  setApiKey(null)
})

describe('a server without bots', () => {
  it.each(['/', '/bots'])('explains on %s what a bot is and offers the installed CLIs with their versions', async (path) => {
    const { wrapper } = await mountApp(path)
    const guide = wrapper.get('[data-testid="first-bot-guide"]')
    expect(guide.text()).toContain('A bot runs a command-line program on a prompt')
    expect(guide.text()).toMatch(/by hand, a webhook, a GitHub pull request or a\s+schedule/)

    const clis = guide.findAll('[data-testid="installed-clis"] li')
    expect(clis.map((cli) => cli.attributes('data-backend'))).toEqual(['claude', 'codex'])
    expect(clis[0]?.text()).toContain('2.0.14 (Claude Code)')
    expect(clis[1]?.get('a').attributes('href')).toBe('/bots/new?backend=codex')
  })

  it('says so when no AI CLI is installed on the server', async () => {
    const onlyCommand = BACKENDS.map((backend) => ({ ...backend, installed: backend.backend_type === 'command' }))
    handlers['GET /admin/backends'] = () => ({ status: 200, body: { backends: onlyCommand } })
    const { wrapper } = await mountApp('/bots')
    expect(wrapper.get('[data-testid="no-clis"]').text()).toContain('No AI CLI')
    expect(wrapper.find('[data-testid="create-example-bot"]').exists()).toBe(true)
  })

  it('creates the example command bot from the overview and opens it', async () => {
    const created = makeBot({ id: 'b9', name: EXAMPLE_BOT.name, backend_type: 'command', command: ['echo', '{prompt}'] })
    handlers['POST /admin/triggers'] = (init) => {
      expect(JSON.parse(String(init.body))).toEqual(EXAMPLE_BOT)
      return { status: 201, body: created }
    }
    handlers['GET /admin/triggers/b9'] = () => ({ status: 200, body: created })
    handlers['GET /admin/triggers/b9/executions'] = () => ({ status: 200, body: emptyPage })
    const { wrapper, router } = await mountApp('/')
    await wrapper.get('[data-testid="create-example-bot"]').trigger('click')
    await settle()
    expect(router.currentRoute.value.fullPath).toBe('/bots/b9')
  })

  it('opens the new-bot form with the backend of the link chosen', async () => {
    const { wrapper } = await mountApp('/bots/new?backend=codex')
    const select = wrapper.get('[data-testid="bot-field-backend_type"]').element as HTMLSelectElement
    expect(select.value).toBe('codex')
  })
})

describe('a server with bots', () => {
  it('shows no guide on the overview', async () => {
    handlers['GET /admin/triggers'] = () => ({ status: 200, body: { triggers: [makeBot()] } })
    const { wrapper } = await mountApp('/')
    expect(wrapper.find('[data-testid="first-bot-guide"]').exists()).toBe(false)
  })
})
