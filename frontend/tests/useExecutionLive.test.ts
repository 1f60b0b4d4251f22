import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { effectScope } from 'vue'
import type { ExecutionDetail, LogEntry } from '@/api/types'
import { useExecutionLive } from '@/composables/useExecutionLive'
import { fakeServer, type FakeServer } from './support/fakeServer'
import { makeExecution } from './support/fixtures'
import { MockEventSource, logEvent } from './support/mockEventSource'

function detail(status: ExecutionDetail['status'], logs: LogEntry[], logsTruncated = false): ExecutionDetail {
  return {
    ...makeExecution({ status, prompt: 'hi', command: ['claude', '-p', 'hi'] }),
    logs,
    logs_truncated: logsTruncated,
    input: null,
    lineage: [],
  }
}

let server: FakeServer
const answers: ExecutionDetail[] = []

beforeEach(() => {
  vi.useFakeTimers()
  MockEventSource.reset()
  vi.stubGlobal('EventSource', MockEventSource)
  answers.length = 0
  server = fakeServer({
    'GET /admin/executions/e1': () => {
      const next = answers.shift()
      if (!next) throw new Error('unexpected request')
      return { status: 200, body: next }
    },
  })
})

afterEach(() => {
  vi.useRealTimers()
})

/** The seqs of the lines the log holds, in order. */
function heldSeqs(live: ReturnType<typeof useExecutionLive>): number[] {
  const { pages } = live.log
  return Array.from({ length: pages.total }, (_, i) => pages.get(i + 1)?.seq).filter((seq) => seq !== undefined)
}

/** The execution's REST requests (stream token requests left out). */
function requestedUrls(): string[] {
  return server.requests().flatMap((request) => (request.startsWith('GET ') ? [request.slice(4)] : []))
}

describe('useExecutionLive', () => {
  it('loads the last page of stored output, then follows the live stream without duplicates', async () => {
    answers.push({ ...detail('running', [logEvent(2), logEvent(3)], true), log_lines: 3 })
    const scope = effectScope()
    const live = scope.run(() => useExecutionLive('e1'))!
    await vi.advanceTimersByTimeAsync(0)

    expect(requestedUrls()).toEqual([`/admin/executions/e1?before_seq=${Number.MAX_SAFE_INTEGER}&limit=200`])
    expect(heldSeqs(live)).toEqual([2, 3])
    expect(live.log.pages.total).toBe(3)

    const source = MockEventSource.latest()
    expect(source.url).toBe('/admin/executions/e1/stream?token=token-1&last_event_id=3')
    source.open()
    source.emit('log', logEvent(4))
    source.emit('log', logEvent(5, 'oops', 'stderr'))
    answers.push(detail('running', []))
    source.fail()
    await vi.advanceTimersByTimeAsync(1000)
    expect(requestedUrls().at(-1)).toBe('/admin/executions/e1?after_seq=5&limit=1000')

    const resumed = MockEventSource.latest()
    expect(resumed.url).toBe('/admin/executions/e1/stream?token=token-2&last_event_id=5')
    resumed.open()
    resumed.emit('log', logEvent(5, 'oops', 'stderr'))
    resumed.emit('log', logEvent(6))
    await vi.advanceTimersByTimeAsync(100)
    expect(heldSeqs(live)).toEqual([2, 3, 4, 5, 6])

    answers.push({ ...detail('success', []), exit_code: 0, duration_ms: 4000 })
    resumed.emit('complete', {
      status: 'success',
      exit_code: 0,
      error_message: null,
      duration_ms: 4000,
      finished_at: '2026-11-24T10:00:05Z',
    })
    expect(live.execution.value?.status).toBe('success')
    await vi.advanceTimersByTimeAsync(0)
    expect(requestedUrls().at(-1)).toBe('/admin/executions/e1?after_seq=6&limit=1000')
    expect(live.execution.value?.exit_code).toBe(0)
    scope.stop()
  })

  it('stops following when the execution ended while the stream was down', async () => {
    answers.push(detail('running', [logEvent(1)]))
    const scope = effectScope()
    const live = scope.run(() => useExecutionLive('e1'))!
    await vi.advanceTimersByTimeAsync(0)
    const source = MockEventSource.latest()
    source.open()

    answers.push({ ...detail('success', [logEvent(2)]), exit_code: 0 })
    source.fail()
    await vi.advanceTimersByTimeAsync(0)
    await vi.advanceTimersByTimeAsync(60_000)

    expect(live.execution.value?.status).toBe('success')
    expect(heldSeqs(live)).toEqual([1, 2])
    expect(live.connection.value).toBe('closed')
    expect(MockEventSource.instances).toHaveLength(1)
    scope.stop()
  })

  it('does not open a stream for a finished execution', async () => {
    answers.push(detail('failed', [logEvent(1)]))
    const scope = effectScope()
    const live = scope.run(() => useExecutionLive('e1'))!
    await vi.advanceTimersByTimeAsync(0)
    expect(live.execution.value?.status).toBe('failed')
    expect(heldSeqs(live)).toEqual([1])
    expect(MockEventSource.instances).toHaveLength(0)
    scope.stop()
  })

  it('reports a load error and can retry', async () => {
    server.fetch.mockResolvedValueOnce(new Response(JSON.stringify({ error: 'execution not found' }), { status: 404 }))
    const scope = effectScope()
    const live = scope.run(() => useExecutionLive('e1'))!
    await vi.advanceTimersByTimeAsync(0)
    expect(live.error.value).toMatchObject({ status: 404, message: 'execution not found' })

    answers.push(detail('success', []))
    await live.retry()
    expect(live.error.value).toBeNull()
    expect(live.execution.value?.status).toBe('success')
    scope.stop()
  })

  it('closes the stream when the page goes away', async () => {
    answers.push(detail('running', []))
    const scope = effectScope()
    scope.run(() => useExecutionLive('e1'))
    await vi.advanceTimersByTimeAsync(0)
    const source = MockEventSource.latest()
    scope.stop()
    expect(source.readyState).toBe(MockEventSource.CLOSED)
  })
})
