import { enableAutoUnmount, flushPromises } from '@vue/test-utils'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { setApiKey } from '@/api/client'
import { fakeServer, type FakeServer, type Routes } from './support/fakeServer'
import { makeAgent, makeMessage } from './support/fixtures'
import { mountApp, settle } from './support/mountApp'
import { MockEventSource } from './support/mockEventSource'

const reviewer = makeAgent({ id: 'a1', name: 'reviewer', role: 'reviews', bots: [{ id: 'b1', name: 'review-bot' }] })
const fixer = makeAgent({ id: 'a2', name: 'fixer', unread: 1 })
const message = makeMessage({ id: 'm1', inbox_seq: 3 })

let handlers: Routes
let server: FakeServer

enableAutoUnmount(afterEach)

function json(init: RequestInit): unknown {
  return JSON.parse(String(init.body))
}

beforeEach(() => {
  MockEventSource.reset()
  vi.stubGlobal('EventSource', MockEventSource)
  setApiKey('test-key')
  server = fakeServer({
    'GET /health/readiness': () => ({ status: 200, body: { status: 'ok' } }),
    'GET /admin/agents': () => ({ status: 200, body: { agents: [reviewer, fixer] } }),
    'GET /admin/agents/a2/messages/inbox': () => ({ status: 200, body: { messages: [message] } }),
    'GET /admin/agents/a2/messages/outbox': () => ({ status: 200, body: { messages: [] } }),
  })
  handlers = server.routes
})

afterEach(() => {
  setApiKey(null)
})

describe('the Agents page', () => {
  it('is in the navigation instead of the placeholder', async () => {
    const { wrapper } = await mountApp('/')
    expect(wrapper.get('[data-testid="nav-agents"]').attributes('href')).toBe('/agents')
    expect(wrapper.text()).not.toContain('Agents & messages')
  })

  it('lists agents with their unread counts and roles', async () => {
    const { wrapper } = await mountApp('/agents')
    const rows = wrapper.findAll('[data-testid="agent-row"]')
    expect(rows.map((row) => row.attributes('data-agent-name'))).toEqual(['reviewer', 'fixer'])
    expect(rows[0]?.find('[data-testid="agent-unread"]').exists()).toBe(false)
    expect(rows[0]?.text()).toContain('review-bot')
    expect(rows[1]?.get('[data-testid="agent-unread"]').text()).toBe('1')
    expect(MockEventSource.instances).toHaveLength(0)
  })

  it('shows which bots act as the agent, linked to them', async () => {
    handlers['GET /admin/agents/a1/messages/inbox'] = () => ({ status: 200, body: { messages: [] } })
    const { wrapper } = await mountApp('/agents/a1')
    expect(wrapper.get('[data-testid="agent-bots"] a').attributes('href')).toBe('/bots/b1')
  })

  it('opens the inbox live after the messages loaded, and shows new ones as they arrive', async () => {
    const { wrapper } = await mountApp('/agents/a2')
    expect(wrapper.findAll('[data-testid="message"]')).toHaveLength(1)
    await settle()
    const source = MockEventSource.latest()
    expect(source.url).toBe('/admin/agents/a2/messages/stream?token=token-1&last_event_id=3')
    source.open()
    source.emit('message', makeMessage({ id: 'm2', inbox_seq: 4, priority: 'high', subject: 'Urgent' }), '4')
    await flushPromises()
    const shown = wrapper.findAll('[data-testid="message"]')
    expect(shown.map((m) => m.attributes('data-message-id'))).toEqual(['m2', 'm1'])
    expect(wrapper.get('[data-testid="inbox-unread"]').text()).toBe('2 unread')
    expect(wrapper.get('[data-testid="inbox-connection"]').text()).toBe('Live')
  })

  it('marks a message read', async () => {
    handlers['POST /admin/agents/a2/messages/m1/read'] = () => ({ status: 200, body: { ...message, status: 'read' } })
    const { wrapper } = await mountApp('/agents/a2')
    await wrapper.get('[data-testid="message-mark-read"]').trigger('click')
    await flushPromises()
    expect(server.requests()).toContain('POST /admin/agents/a2/messages/m1/read')
    expect(wrapper.get('[data-testid="message"]').attributes('data-status')).toBe('read')
    expect(wrapper.find('[data-testid="message-mark-read"]').exists()).toBe(false)
  })

  it('shows a message in its thread', async () => {
    const reply = makeMessage({ id: 'm9', inbox_seq: 9, in_reply_to: 'm1', from_agent_name: 'fixer', to_agent_name: 'reviewer' })
    handlers['GET /admin/agents/a2/messages/m1/thread'] = () => ({ status: 200, body: { messages: [message, reply] } })
    const { wrapper } = await mountApp('/agents/a2')
    await wrapper.get('[data-testid="message-thread"]').trigger('click')
    await settle()
    const thread = wrapper.get('[data-testid="message-thread-view"]')
    expect(thread.findAll('[data-testid="message"]').map((m) => m.attributes('data-message-id'))).toEqual(['m1', 'm9'])
  })

  it('sends a reply to the sender, in the thread of the message it answers', async () => {
    let sent: unknown = null
    handlers['POST /admin/agents/a2/messages'] = (init) => {
      sent = json(init)
      return { status: 201, body: { message_ids: ['m5'], messages: [] } }
    }
    const { wrapper } = await mountApp('/agents/a2')
    await wrapper.get('[data-testid="message-reply"]').trigger('click')
    await wrapper.get('[data-testid="compose-content"]').setValue('Fixed in 1a2b3c')
    await wrapper.get('[data-testid="compose-form"]').trigger('submit')
    await flushPromises()
    expect(sent).toEqual({
      message_type: 'response',
      priority: 'normal',
      subject: null,
      content: 'Fixed in 1a2b3c',
      ttl_seconds: null,
      in_reply_to: 'm1',
      to_agent_id: 'a1',
    })
    expect(wrapper.get('[data-testid="compose-sent"]').text()).toBe('Sent 1 message.')
  })

  it('sends a broadcast to every other agent', async () => {
    let sent: unknown = null
    handlers['POST /admin/agents/a2/messages'] = (init) => {
      sent = json(init)
      return { status: 201, body: { message_ids: ['m5', 'm6'], messages: [] } }
    }
    const { wrapper } = await mountApp('/agents/a2')
    await wrapper.get('[data-testid="compose-type"]').setValue('broadcast')
    await wrapper.get('[data-testid="compose-ttl"]').setValue('300')
    await wrapper.get('[data-testid="compose-content"]').setValue('Release freeze')
    await wrapper.get('[data-testid="compose-form"]').trigger('submit')
    await flushPromises()
    expect(sent).toMatchObject({ message_type: 'broadcast', to_agent_id: null, ttl_seconds: 300, content: 'Release freeze' })
    expect(wrapper.get('[data-testid="compose-sent"]').text()).toBe('Sent 2 messages.')
  })

  it('lists what the agent sent with its recipients\' state, again after each send', async () => {
    const sent = makeMessage({ id: 'm7', from_agent_id: 'a2', to_agent_id: 'a1', status: 'read' })
    let outbox = [] as (typeof sent)[]
    handlers['GET /admin/agents/a2/messages/outbox'] = () => ({ status: 200, body: { messages: outbox } })
    handlers['POST /admin/agents/a2/messages'] = () => {
      outbox = [sent]
      return { status: 201, body: { message_ids: ['m7'], messages: [sent] } }
    }
    const { wrapper } = await mountApp('/agents/a2')
    expect(wrapper.find('[data-testid="agent-outbox"]').exists()).toBe(false)
    await wrapper.get('[data-testid="compose-to"]').setValue('a1')
    await wrapper.get('[data-testid="compose-content"]').setValue('Done')
    await wrapper.get('[data-testid="compose-form"]').trigger('submit')
    await settle()
    const shown = wrapper.get('[data-testid="agent-outbox"]').get('[data-testid="message"]')
    expect(shown.attributes('data-status')).toBe('read')
  })

  it('names the missing recipient next to its field without asking the server', async () => {
    const { wrapper } = await mountApp('/agents/a2')
    await wrapper.get('[data-testid="compose-content"]').setValue('Hello')
    await wrapper.get('[data-testid="compose-form"]').trigger('submit')
    await flushPromises()
    expect(wrapper.get('[data-testid="field-error-to_agent_id"]').text()).toContain('Choose a recipient')
    expect(server.requests()).not.toContain('POST /admin/agents/a2/messages')
  })

  it('creates an agent and opens it', async () => {
    let created: unknown = null
    handlers['POST /admin/agents'] = (init) => {
      created = json(init)
      return { status: 201, body: makeAgent({ id: 'a3', name: 'releaser' }) }
    }
    const { wrapper, router } = await mountApp('/agents')
    await wrapper.get('[data-testid="agent-new"]').trigger('click')
    await wrapper.get('[data-testid="agent-name"]').setValue(' releaser ')
    await wrapper.get('[data-testid="agent-form"]').trigger('submit')
    await settle()
    expect(created).toEqual({ name: 'releaser', role: null, description: null })
    expect(router.currentRoute.value.fullPath).toBe('/agents/a3')
  })

  it('shows the server refusing a duplicate name next to the name', async () => {
    handlers['POST /admin/agents'] = () => ({ status: 409, body: { error: 'an agent named reviewer exists', field: 'name' } })
    const { wrapper } = await mountApp('/agents')
    await wrapper.get('[data-testid="agent-new"]').trigger('click')
    await wrapper.get('[data-testid="agent-name"]').setValue('Reviewer')
    await wrapper.get('[data-testid="agent-form"]').trigger('submit')
    await flushPromises()
    expect(wrapper.get('[data-testid="field-error-name"]').text()).toContain('exists')
  })

  it('edits an agent in place', async () => {
    let changed: unknown = null
    handlers['PUT /admin/agents/a1'] = (init) => {
      changed = json(init)
      return { status: 200, body: { ...reviewer, role: 'lead reviewer' } }
    }
    handlers['GET /admin/agents/a1/messages/inbox'] = () => ({ status: 200, body: { messages: [] } })
    handlers['GET /admin/agents/a1/messages/outbox'] = () => ({ status: 200, body: { messages: [] } })
    const { wrapper } = await mountApp('/agents/a1')
    await wrapper.get('[data-testid="agent-edit"]').trigger('click')
    expect((wrapper.get('[data-testid="agent-name"]').element as HTMLInputElement).value).toBe('reviewer')
    await wrapper.get('[data-testid="agent-role"]').setValue('lead reviewer')
    handlers['GET /admin/agents'] = () => ({ status: 200, body: { agents: [{ ...reviewer, role: 'lead reviewer' }, fixer] } })
    await wrapper.get('[data-testid="agent-form"]').trigger('submit')
    await settle()
    expect(changed).toEqual({ name: 'reviewer', role: 'lead reviewer', description: null })
    expect(wrapper.find('[data-testid="agent-form"]').exists()).toBe(false)
    expect(wrapper.get('[data-testid="agent-detail-role"]').text()).toBe('lead reviewer')
  })

  it('deletes an agent after asking, and goes back to the list', async () => {
    handlers['DELETE /admin/agents/a2'] = () => ({ status: 204 })
    const { wrapper, router } = await mountApp('/agents/a2')
    await wrapper.get('[data-testid="agent-delete"]').trigger('click')
    await flushPromises()
    await wrapper.get('[data-testid="agent-delete-confirm"]').trigger('click')
    await settle()
    expect(server.requests()).toContain('DELETE /admin/agents/a2')
    expect(router.currentRoute.value.fullPath).toBe('/agents')
  })
})
