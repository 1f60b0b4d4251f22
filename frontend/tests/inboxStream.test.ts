import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { followInbox } from '@/api/inboxStream'
import type { AgentMessage } from '@/api/types'
import { fakeServer } from './support/fakeServer'
import { makeMessage } from './support/fixtures'
import { MockEventSource } from './support/mockEventSource'

async function settle(): Promise<void> {
  await vi.advanceTimersByTimeAsync(0)
}

describe('followInbox', () => {
  beforeEach(() => {
    vi.useFakeTimers()
    MockEventSource.reset()
    vi.stubGlobal('EventSource', MockEventSource)
    fakeServer()
  })

  afterEach(() => {
    vi.useRealTimers()
  })

  it('opens the agent inbox stream with a stream token and resumes after the seq shown', async () => {
    const seen: string[] = []
    followInbox('agent 1', { onMessage: (message) => seen.push(message.id) }, 4)
    await settle()

    const source = MockEventSource.latest()
    expect(source.url).toBe('/admin/agents/agent%201/messages/stream?token=token-1&last_event_id=4')
    source.emit('message', makeMessage({ id: 'old', inbox_seq: 4 }), '4')
    source.emit('message', makeMessage({ id: 'new', inbox_seq: 5 }), '5')
    expect(seen).toEqual(['new'])
  })

  it('reconnects after a drop from the last message, without duplicates', async () => {
    const seen: number[] = []
    const stream = followInbox('a2', { onMessage: (message: AgentMessage) => seen.push(message.inbox_seq) }, 0)
    await settle()
    const first = MockEventSource.latest()
    expect(first.url).toBe('/admin/agents/a2/messages/stream?token=token-1')
    first.emit('message', makeMessage({ inbox_seq: 1 }))
    first.fail()
    await vi.advanceTimersByTimeAsync(1000)

    const second = MockEventSource.latest()
    expect(second.url).toBe('/admin/agents/a2/messages/stream?token=token-2&last_event_id=1')
    second.emit('message', makeMessage({ inbox_seq: 1 }))
    second.emit('message', makeMessage({ id: 'm2', inbox_seq: 2 }))
    expect(seen).toEqual([1, 2])
    expect(stream.cursor).toBe(2)
  })

  it('stops for good when the agent is deleted', async () => {
    const onClosed = vi.fn()
    const stream = followInbox('a2', { onMessage: () => undefined, onClosed })
    await settle()
    MockEventSource.latest().emit('complete', { agent_id: 'a2', reason: 'agent deleted' })
    expect(onClosed).toHaveBeenCalledWith({ agent_id: 'a2', reason: 'agent deleted' })
    expect(stream.state).toBe('closed')
    await vi.advanceTimersByTimeAsync(60_000)
    expect(MockEventSource.instances).toHaveLength(1)
  })
})
