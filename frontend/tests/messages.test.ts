import { describe, expect, it } from 'vitest'
import { ComposeError, emptyCompose, inboxOrder, lastSeq, mergeMessage, messageInput, replyCompose } from '@/lib/messages'
import { makeMessage } from './support/fixtures'

describe('inbox order and merging', () => {
  it('puts high priority first, then the oldest', () => {
    const low = makeMessage({ id: 'low', inbox_seq: 1, priority: 'low' })
    const old = makeMessage({ id: 'old', inbox_seq: 2 })
    const urgent = makeMessage({ id: 'urgent', inbox_seq: 4, priority: 'high' })
    const newer = makeMessage({ id: 'newer', inbox_seq: 3 })
    expect([low, old, urgent, newer].sort(inboxOrder).map((m) => m.id)).toEqual(['urgent', 'old', 'newer', 'low'])
  })

  it('replaces a message it already holds instead of showing it twice', () => {
    const first = makeMessage()
    const merged = mergeMessage([first], { ...first, status: 'read' })
    expect(merged).toHaveLength(1)
    expect(merged[0]?.status).toBe('read')
  })

  it('adds a new message in its place', () => {
    const merged = mergeMessage([makeMessage()], makeMessage({ id: 'm2', inbox_seq: 2, priority: 'high' }))
    expect(merged.map((m) => m.id)).toEqual(['m2', 'm1'])
  })

  it('resumes after the highest inbox seq held, or from the start when empty', () => {
    expect(lastSeq([makeMessage({ inbox_seq: 7 }), makeMessage({ inbox_seq: 3 })])).toBe(7)
    expect(lastSeq([])).toBe(0)
  })
})

describe('the compose form', () => {
  it('sends a message to the chosen agent with its subject, priority and TTL', () => {
    const form = { ...emptyCompose(), to: 'a2', priority: 'high' as const, subject: ' Hi ', content: 'Look', ttl: '60' }
    expect(messageInput(form)).toEqual({
      message_type: 'message',
      priority: 'high',
      subject: 'Hi',
      content: 'Look',
      ttl_seconds: 60,
      in_reply_to: null,
      to_agent_id: 'a2',
    })
  })

  it('sends a broadcast to no one in particular', () => {
    const form = { ...emptyCompose(), to: 'a2', message_type: 'broadcast' as const, content: 'All hands' }
    expect(messageInput(form).to_agent_id).toBeNull()
  })

  it('names the field that is missing or wrong', () => {
    const field = (form: ReturnType<typeof emptyCompose>) => {
      try {
        messageInput(form)
      } catch (error) {
        return error instanceof ComposeError ? error.field : 'other'
      }
      return null
    }
    expect(field({ ...emptyCompose(), content: 'x' })).toBe('to_agent_id')
    expect(field({ ...emptyCompose(), to: 'a2', content: '  ' })).toBe('content')
    expect(field({ ...emptyCompose(), to: 'a2', content: 'x', ttl: '1.5' })).toBe('ttl_seconds')
    expect(field({ ...emptyCompose(), to: 'a2', content: 'x', ttl: '0' })).toBe('ttl_seconds')
  })

  it('answers a message as a response to its sender, in its thread', () => {
    const reply = replyCompose(makeMessage({ subject: 'Re: parser' }))
    expect(reply).toMatchObject({ to: 'a1', message_type: 'response', subject: 'Re: parser', in_reply_to: 'm1' })
  })
})
