import { flushPromises, mount } from '@vue/test-utils'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import ServerStatus from '@/components/ServerStatus.vue'
import { fakeServer, type Answer } from './support/fakeServer'

/** An answer that never comes: the request only ends when it is aborted. */
function hang(init: RequestInit): Promise<Answer> {
  return new Promise((_, reject) => {
    init.signal?.addEventListener('abort', () => reject(new DOMException('aborted', 'AbortError')))
  })
}

describe('the server-status line', () => {
  beforeEach(() => vi.useFakeTimers())
  afterEach(() => vi.useRealTimers())

  it('shows a server that stops answering as unreachable within 5 s', async () => {
    let answering = true
    fakeServer({
      'GET /health/readiness': (init) => (answering ? { status: 200, body: { status: 'ok' } } : hang(init)),
    })
    const wrapper = mount(ServerStatus)
    await flushPromises()
    expect(wrapper.text()).toContain('Server ready')

    answering = false
    await vi.advanceTimersByTimeAsync(5_000)
    expect(wrapper.text()).toContain('Server unreachable')
    wrapper.unmount()
  })

  it('shows a server that refuses connections as unreachable at its next check', async () => {
    const server = fakeServer({ 'GET /health/readiness': () => ({ status: 200, body: { status: 'ok' } }) })
    const wrapper = mount(ServerStatus)
    await flushPromises()
    server.fetch.mockRejectedValue(new TypeError('Failed to fetch'))
    await vi.advanceTimersByTimeAsync(3_000)
    expect(wrapper.text()).toContain('Server unreachable')
    wrapper.unmount()
  })
})
