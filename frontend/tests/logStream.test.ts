import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { setApiKey } from '@/api/client'
import { followExecutionLog } from '@/api/logStream'
import type { LogEntry } from '@/api/types'
import { fakeServer, type FakeServer } from './support/fakeServer'
import { MockEventSource, logEvent } from './support/mockEventSource'

/** Lets the async connect() (which fetches a stream token first) run. */
async function settle(): Promise<void> {
  await vi.advanceTimersByTimeAsync(0)
}

let server: FakeServer

describe('followExecutionLog', () => {
  beforeEach(() => {
    vi.useFakeTimers()
    MockEventSource.reset()
    vi.stubGlobal('EventSource', MockEventSource)
    server = fakeServer()
  })

  afterEach(() => {
    vi.useRealTimers()
    setApiKey(null)
  })

  it('opens the stream path and delivers log lines in order', async () => {
    const seen: LogEntry[] = []
    const stream = followExecutionLog('ex 1', { onLog: (entry) => seen.push(entry) })
    await settle()

    const source = MockEventSource.latest()
    expect(source.url).toBe('/admin/executions/ex%201/stream?token=token-1')
    source.open()
    source.emit('log', logEvent(1), '1')
    source.emit('log', logEvent(2), '2')
    source.emit('log', logEvent(3), '3')

    expect(seen.map((entry) => entry.seq)).toEqual([1, 2, 3])
    expect(stream.lastSeq).toBe(3)
    expect(stream.state).toBe('open')
  })

  it('resumes after the seq already shown', async () => {
    const seen: number[] = []
    followExecutionLog('ex1', { onLog: (entry) => seen.push(entry.seq) }, { afterSeq: 41 })
    await settle()

    const source = MockEventSource.latest()
    expect(source.url).toBe('/admin/executions/ex1/stream?token=token-1&last_event_id=41')
    source.emit('log', logEvent(40))
    source.emit('log', logEvent(41))
    source.emit('log', logEvent(42))
    expect(seen).toEqual([42])
  })

  it('reconnects after a drop with last_event_id and shows no duplicate and no gap', async () => {
    const seen: number[] = []
    const states: string[] = []
    followExecutionLog(
      'ex1',
      { onLog: (entry) => seen.push(entry.seq), onConnectionChange: (state) => states.push(state) },
      { retryDelayMs: 500 },
    )
    await settle()

    const first = MockEventSource.latest()
    first.open()
    first.emit('log', logEvent(1))
    first.emit('log', logEvent(2))
    first.fail()

    expect(first.readyState).toBe(MockEventSource.CLOSED)
    expect(states).toContain('reconnecting')
    expect(MockEventSource.instances).toHaveLength(1)

    await vi.advanceTimersByTimeAsync(500)
    expect(MockEventSource.instances).toHaveLength(2)
    const second = MockEventSource.latest()
    expect(second.url).toBe('/admin/executions/ex1/stream?token=token-2&last_event_id=2')

    // The server may replay lines the client already has; they must not show twice.
    second.open()
    second.emit('log', logEvent(1))
    second.emit('log', logEvent(2))
    second.emit('log', logEvent(3))
    second.emit('log', logEvent(4))

    expect(seen).toEqual([1, 2, 3, 4])
    expect(states[states.length - 1]).toBe('open')
  })

  it('ignores events from a connection it already gave up on', async () => {
    const seen: number[] = []
    followExecutionLog('ex1', { onLog: (entry) => seen.push(entry.seq) }, { retryDelayMs: 10 })
    await settle()
    const first = MockEventSource.latest()
    first.emit('log', logEvent(1))
    first.fail()
    first.emit('log', logEvent(2))
    expect(seen).toEqual([1])
  })

  it('backs off exponentially while the server stays away, and resets once connected', async () => {
    followExecutionLog('ex1', { onLog: () => undefined }, { retryDelayMs: 100, maxRetryDelayMs: 300 })
    await settle()

    MockEventSource.latest().fail()
    await vi.advanceTimersByTimeAsync(99)
    expect(MockEventSource.instances).toHaveLength(1)
    await vi.advanceTimersByTimeAsync(1)
    expect(MockEventSource.instances).toHaveLength(2)

    MockEventSource.latest().fail()
    await vi.advanceTimersByTimeAsync(199)
    expect(MockEventSource.instances).toHaveLength(2)
    await vi.advanceTimersByTimeAsync(1)
    expect(MockEventSource.instances).toHaveLength(3)

    MockEventSource.latest().fail()
    await vi.advanceTimersByTimeAsync(300)
    expect(MockEventSource.instances).toHaveLength(4)

    MockEventSource.latest().open()
    MockEventSource.latest().fail()
    await vi.advanceTimersByTimeAsync(100)
    expect(MockEventSource.instances).toHaveLength(5)
  })

  it('reports status events and stops for good on complete', async () => {
    const statuses: string[] = []
    const onComplete = vi.fn()
    const stream = followExecutionLog('ex1', {
      onLog: () => undefined,
      onStatus: (event) => statuses.push(event.status),
      onComplete,
    })
    await settle()

    const source = MockEventSource.latest()
    source.open()
    source.emit('status', { status: 'running', started_at: '2026-11-24T10:00:00Z' })
    const done = { status: 'success', exit_code: 0, error_message: null, duration_ms: 1200, finished_at: '2026-11-24T10:00:01Z' }
    source.emit('complete', done)

    expect(statuses).toEqual(['running'])
    expect(onComplete).toHaveBeenCalledWith(done)
    expect(source.readyState).toBe(MockEventSource.CLOSED)
    expect(stream.state).toBe('closed')

    await vi.advanceTimersByTimeAsync(60_000)
    expect(MockEventSource.instances).toHaveLength(1)
  })

  it('reconnects after a server shutdown notice', async () => {
    followExecutionLog('ex1', { onLog: () => undefined }, { retryDelayMs: 10 })
    await settle()
    const source = MockEventSource.latest()
    source.open()
    source.emit('shutdown', {})
    source.fail()
    await vi.advanceTimersByTimeAsync(10)
    expect(MockEventSource.instances).toHaveLength(2)
  })

  it('close() cancels a pending reconnect', async () => {
    const stream = followExecutionLog('ex1', { onLog: () => undefined }, { retryDelayMs: 10 })
    await settle()
    MockEventSource.latest().fail()
    stream.close()
    await vi.advanceTimersByTimeAsync(1000)
    expect(MockEventSource.instances).toHaveLength(1)
  })

  it('skips malformed log data', async () => {
    const seen: number[] = []
    followExecutionLog('ex1', { onLog: (entry) => seen.push(entry.seq) })
    await settle()
    const source = MockEventSource.latest()
    source.emit('log', 'not json')
    source.emit('log', { content: 'no seq' })
    source.emit('log', logEvent(1))
    expect(seen).toEqual([1])
  })

  it('fetches a fresh stream token, with the key, right before every connect and reconnect', async () => {
    setApiKey('secret-key')
    followExecutionLog('ex1', { onLog: () => undefined }, { retryDelayMs: 10 })
    await settle()
    MockEventSource.latest().open()
    MockEventSource.latest().emit('log', logEvent(1))
    MockEventSource.latest().fail()
    await vi.advanceTimersByTimeAsync(10)
    MockEventSource.latest().fail()
    await vi.advanceTimersByTimeAsync(20)

    expect(server.requests()).toEqual([
      'POST /admin/stream-tokens',
      'POST /admin/stream-tokens',
      'POST /admin/stream-tokens',
    ])
    expect(server.sentKeys()).toEqual(['secret-key', 'secret-key', 'secret-key'])
    expect(MockEventSource.instances.map((source) => source.url)).toEqual([
      '/admin/executions/ex1/stream?token=token-1',
      '/admin/executions/ex1/stream?token=token-2&last_event_id=1',
      '/admin/executions/ex1/stream?token=token-3&last_event_id=1',
    ])
  })

  it('never opens a stream with an old token, however long the backoff before a reconnect', async () => {
    const issuedAt = new Map<string, number>()
    const ages: number[] = []
    server.routes['POST /admin/stream-tokens'] = () => {
      const token = `token-${issuedAt.size + 1}`
      issuedAt.set(token, Date.now())
      return { status: 200, body: { token, expires_at: new Date(Date.now() + 300_000).toISOString() } }
    }
    vi.stubGlobal(
      'EventSource',
      class extends MockEventSource {
        constructor(url: string) {
          super(url)
          ages.push(Date.now() - (issuedAt.get(new URL(url, 'http://localhost').searchParams.get('token') ?? '') ?? NaN))
        }
      },
    )
    // Backoff delays longer than the 300 s a token lives.
    followExecutionLog('ex1', { onLog: () => undefined }, { retryDelayMs: 400_000, maxRetryDelayMs: 900_000 })
    await settle()
    for (let attempt = 0; attempt < 3; attempt += 1) {
      MockEventSource.latest().fail()
      await vi.advanceTimersByTimeAsync(900_000)
    }
    expect(MockEventSource.instances).toHaveLength(4)
    expect(new Set(MockEventSource.instances.map((source) => source.url)).size).toBe(4)
    expect(ages).toEqual([0, 0, 0, 0])
  })

  it('retries with backoff when the token cannot be fetched', async () => {
    const states: string[] = []
    server.routes['POST /admin/stream-tokens'] = () => ({ status: 503, body: { error: 'the server is not serving' } })
    followExecutionLog('ex1', { onLog: () => undefined, onConnectionChange: (state) => states.push(state) }, { retryDelayMs: 100 })
    await settle()
    expect(MockEventSource.instances).toHaveLength(0)
    expect(states).toEqual(['connecting', 'reconnecting'])

    server.routes['POST /admin/stream-tokens'] = () => ({ status: 200, body: { token: 'late', expires_at: '' } })
    await vi.advanceTimersByTimeAsync(100)
    expect(MockEventSource.latest().url).toBe('/admin/executions/ex1/stream?token=late')
  })

  it('stops for good when the token request is refused with 401 (signed out)', async () => {
    const states: string[] = []
    server.routes['POST /admin/stream-tokens'] = () => ({ status: 401, body: { error: 'missing or invalid API key' } })
    const stream = followExecutionLog('ex1', { onLog: () => undefined, onConnectionChange: (state) => states.push(state) })
    await settle()
    await vi.advanceTimersByTimeAsync(60_000)
    expect(stream.state).toBe('closed')
    expect(states).toEqual(['connecting', 'closed'])
    expect(server.requests()).toEqual(['POST /admin/stream-tokens'])
    expect(MockEventSource.instances).toHaveLength(0)
  })
})
