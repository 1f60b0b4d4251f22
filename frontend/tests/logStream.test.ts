import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { followExecutionLog } from '@/api/logStream'
import type { LogEntry } from '@/api/types'
import { MockEventSource, logEvent } from './support/mockEventSource'

/** Lets the async connect() (which awaits streamUrl) run. */
async function settle(): Promise<void> {
  await vi.advanceTimersByTimeAsync(0)
}

describe('followExecutionLog', () => {
  beforeEach(() => {
    vi.useFakeTimers()
    MockEventSource.reset()
    vi.stubGlobal('EventSource', MockEventSource)
  })

  afterEach(() => {
    vi.useRealTimers()
  })

  it('opens the stream path and delivers log lines in order', async () => {
    const seen: LogEntry[] = []
    const stream = followExecutionLog('ex 1', { onLog: (entry) => seen.push(entry) })
    await settle()

    const source = MockEventSource.latest()
    expect(source.url).toBe('/admin/executions/ex%201/stream')
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
    expect(source.url).toBe('/admin/executions/ex1/stream?last_event_id=41')
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
    expect(second.url).toBe('/admin/executions/ex1/stream?last_event_id=2')

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
})
