import { enableAutoUnmount, flushPromises, type VueWrapper } from '@vue/test-utils'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { API_KEY_STORAGE, setApiKey } from '@/api/client'
import { fakeServer, type Answer, type FakeServer } from './support/fakeServer'
import { mountApp, settle } from './support/mountApp'

const GOOD_KEY = 'good-key'
const REFUSED = { status: 401, body: { error: 'missing or invalid API key' } }

let server: FakeServer

enableAutoUnmount(afterEach)

/** A server that requires GOOD_KEY on admin routes, like Agented with AGENTED_AUTH=enabled. */
beforeEach(() => {
  const keyed = (accepted: Answer) => (init: RequestInit) =>
    new Headers(init.headers).get('X-API-Key') === GOOD_KEY ? accepted : REFUSED
  server = fakeServer({
    'GET /health/readiness': () => ({ status: 200, body: { status: 'ok', timestamp: '2026-11-24T10:00:00Z' } }),
    'GET /admin/triggers': keyed({ status: 200, body: { triggers: [] } }),
    'GET /admin/scheduler/jobs': keyed({ status: 200, body: { jobs: [] } }),
  })
})

afterEach(() => {
  setApiKey(null)
})

function adminRequests(): string[] {
  return server.requests().filter((request) => request.includes(' /admin/'))
}

async function submitKey(wrapper: VueWrapper, key: string): Promise<void> {
  await wrapper.get('[data-testid="sign-in-key"]').setValue(key)
  await wrapper.get('form').trigger('submit')
  await settle()
}

describe('without a key', () => {
  it('shows only the sign-in screen, focused on the key field, and asks nothing of the admin API', async () => {
    const { wrapper } = await mountApp('/bots')
    expect(wrapper.find('[data-testid="sign-in"]').exists()).toBe(true)
    expect(wrapper.find('nav').exists()).toBe(false)
    expect(wrapper.find('[data-testid="bots-page"]').exists()).toBe(false)
    expect(adminRequests()).toEqual([])
    expect(document.title).toBe('Sign in · Agented')

    const field = wrapper.get('[data-testid="sign-in-key"]')
    expect(document.activeElement).toBe(field.element)
    expect(field.attributes('type')).toBe('password')
    expect(wrapper.get('label[for="api-key"]').text()).toBe('API key')
    expect(field.attributes('aria-describedby')).toBe('api-key-hint')
    expect(wrapper.get('#api-key-hint').text()).toMatch(/backend\/\.api_key.*AGENTED_API_KEY/s)

    await wrapper.get('[data-testid="sign-in-key-toggle"]').trigger('click')
    expect(field.attributes('type')).toBe('text')
    await wrapper.get('[data-testid="sign-in-key-toggle"]').trigger('click')
    expect(field.attributes('type')).toBe('password')
  })

  it('refuses a wrong key with "That key was not accepted", then the right key opens the page asked for', async () => {
    const { wrapper, router } = await mountApp('/schedules')

    await submitKey(wrapper, 'wrong-key')
    const error = wrapper.get('[data-testid="field-error-api_key"]')
    expect(error.text()).toBe('That key was not accepted.')
    expect(error.attributes('role')).toBe('alert')
    expect(wrapper.get('[data-testid="sign-in-key"]').attributes('aria-invalid')).toBe('true')
    expect(wrapper.get('[data-testid="sign-in-key"]').attributes('aria-describedby')).toContain('api-key-error')
    expect(localStorage.getItem(API_KEY_STORAGE)).toBeNull()

    await submitKey(wrapper, ` ${GOOD_KEY} `)
    expect(wrapper.find('[data-testid="sign-in"]').exists()).toBe(false)
    expect(router.currentRoute.value.fullPath).toBe('/schedules')
    expect(wrapper.get('h1').text()).toBe('Schedules')
    expect(document.title).toBe('Schedules · Agented')
    expect(document.activeElement?.id).toBe('main')
    expect(localStorage.getItem(API_KEY_STORAGE)).toBe(GOOD_KEY)
    expect(server.requests().at(-1)).toBe('GET /admin/scheduler/jobs')
    expect(server.sentKeys().at(-1)).toBe(GOOD_KEY)
  })

  it('explains other failures: an empty field, too many attempts, an unreachable server', async () => {
    const { wrapper } = await mountApp('/')
    const error = () => wrapper.get('[data-testid="field-error-api_key"]').text()

    await submitKey(wrapper, '   ')
    expect(error()).toBe('Paste the API key first.')
    expect(adminRequests()).toEqual([])

    server.routes['GET /admin/triggers'] = () => ({ status: 429, body: { error: 'too many failed authentications' } })
    await submitKey(wrapper, GOOD_KEY)
    expect(error()).toMatch(/Too many failed sign-ins/)

    server.fetch.mockRejectedValueOnce(new TypeError('Failed to fetch'))
    await submitKey(wrapper, GOOD_KEY)
    expect(error()).toBe('Cannot reach the Agented server')
    expect(wrapper.find('[data-testid="sign-in"]').exists()).toBe(true)
  })

  it('opens straight away when the server needs no key (AGENTED_AUTH=disabled), without Sign out', async () => {
    server.routes['GET /health/readiness'] = () => ({ status: 200, body: { status: 'ok', database: 'ok', version: '1' } })
    server.routes['GET /admin/scheduler/jobs'] = () => ({ status: 200, body: { jobs: [] } })
    const { wrapper } = await mountApp('/schedules')
    expect(wrapper.get('h1').text()).toBe('Schedules')
    expect(wrapper.find('[data-testid="sign-out"]').exists()).toBe(false)
    expect(server.sentKeys()).toEqual([null, null, null])
  })
})

describe('with a sign-in link', () => {
  it('verifies its key, keeps it and opens the page', async () => {
    const { wrapper } = await mountApp('/schedules', GOOD_KEY)
    expect(adminRequests()[0]).toBe('GET /admin/triggers')
    expect(wrapper.get('h1').text()).toBe('Schedules')
    expect(localStorage.getItem(API_KEY_STORAGE)).toBe(GOOD_KEY)
  })

  it('says so when its key is refused, and keeps nothing', async () => {
    const { wrapper } = await mountApp('/', 'stale-key')
    expect(wrapper.get('[data-testid="sign-in-notice"]').text()).toBe('That key was not accepted.')
    expect(localStorage.getItem(API_KEY_STORAGE)).toBeNull()
  })
})

describe('with a kept key', () => {
  it('shows a loading state, not the sign-in form, while the key is checked', async () => {
    setApiKey(GOOD_KEY)
    let release: () => void = () => undefined
    const gate = new Promise<void>((resolve) => (release = resolve))
    server.routes['GET /admin/triggers'] = async () => {
      await gate
      return { status: 200, body: { triggers: [] } }
    }
    const mounting = mountApp('/schedules')
    await flushPromises()
    expect(document.querySelector('[data-testid="loading"]')).not.toBeNull()
    expect(document.querySelector('[data-testid="sign-in"]')).toBeNull()
    release()
    const { wrapper } = await mounting
    expect(wrapper.get('h1').text()).toBe('Schedules')
  })

  it('goes back to the sign-in screen when any call is refused with 401, forgetting the key', async () => {
    setApiKey(GOOD_KEY)
    const { wrapper } = await mountApp('/schedules')
    expect(wrapper.get('h1').text()).toBe('Schedules')

    server.routes['GET /admin/scheduler/jobs'] = () => REFUSED
    await wrapper.findAll('button').find((button) => button.text() === 'Refresh')?.trigger('click')
    await settle()
    expect(wrapper.find('[data-testid="sign-in"]').exists()).toBe(true)
    expect(wrapper.get('[data-testid="sign-in-notice"]').text()).toMatch(/no longer accepts your key/)
    expect(localStorage.getItem(API_KEY_STORAGE)).toBeNull()
  })

  it('signs out from the navigation', async () => {
    setApiKey(GOOD_KEY)
    const { wrapper } = await mountApp('/schedules')
    await wrapper.get('[data-testid="sign-out"]').trigger('click')
    await settle()
    expect(wrapper.find('[data-testid="sign-in"]').exists()).toBe(true)
    expect(wrapper.get('[data-testid="sign-in-notice"]').text()).toBe('You signed out.')
    expect(localStorage.getItem(API_KEY_STORAGE)).toBeNull()
  })
})
