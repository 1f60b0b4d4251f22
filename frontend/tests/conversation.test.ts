import { mount } from '@vue/test-utils'
import { describe, expect, it } from 'vitest'
import { effectScope } from 'vue'
import type { ConversationEntry, ConversationItem, ConversationUsage } from '@/api/types'
import ConversationView from '@/components/execution/ConversationView.vue'
import { useConversation } from '@/composables/useConversation'
import { Conversation, diffLines, formatUsage, sumUsage } from '@/lib/conversation'
import { renderMarkdown } from '@/lib/markdown'
import { fakeServer } from './support/fakeServer'

const NO_USAGE: ConversationUsage = {
  input_tokens: null,
  output_tokens: null,
  cache_creation_input_tokens: null,
  cache_read_input_tokens: null,
  total_cost_usd: null,
  num_turns: null,
}

function usage(fields: Partial<ConversationUsage>): ConversationUsage {
  return { ...NO_USAGE, ...fields }
}

const say = (text: string, delta = false): ConversationItem => ({ kind: 'message', role: 'assistant', text, delta })
const call = (id: string, fields: Partial<Extract<ConversationItem, { kind: 'tool_call' }>> = {}): ConversationItem => ({
  kind: 'tool_call',
  id,
  name: 'Bash',
  input: { command: 'ls' },
  command: 'ls',
  path: null,
  diff: null,
  ...fields,
})
const result = (id: string, output: string, isError = false): ConversationItem => ({
  kind: 'tool_result',
  id,
  output,
  is_error: isError,
  exit_code: null,
})
const error = (message: string, retrying = false): ConversationItem => ({ kind: 'error', message, retrying })
const turn = (id: string | null, fields: Partial<ConversationUsage>): ConversationItem => ({
  kind: 'usage',
  scope: 'turn',
  turn: id,
  usage: usage(fields),
})

function conversationOf(...entries: ConversationItem[][]): Conversation {
  const conversation = new Conversation()
  entries.forEach((items, index) => conversation.add({ seq: index + 1, items }))
  return conversation
}

describe('Conversation', () => {
  it('drops entries at or below the last seq taken, so stored pages and the live stream can overlap', () => {
    const conversation = new Conversation()
    const entry: ConversationEntry = { seq: 3, items: [say('hello')] }
    expect(conversation.add(entry)).toBe(true)
    expect(conversation.add(entry)).toBe(false)
    expect(conversation.add({ seq: 2, items: [say('older')] })).toBe(false)
    expect(conversation.blocks).toHaveLength(1)
  })

  it('joins a tool result to its call, wherever the call is', () => {
    const conversation = conversationOf([say('Let me look.'), call('t1')], [say('meanwhile')], [result('t1', 'a\nb')])
    const tool = conversation.blocks[1]
    expect(tool).toMatchObject({ type: 'tool', call: { id: 't1', command: 'ls' }, result: { output: 'a\nb' } })
    expect(conversation.blocks.map((block) => block.type)).toEqual(['message', 'tool', 'message'])
  })

  it('shows a result whose call it never saw under a placeholder call', () => {
    const conversation = conversationOf([result('lost', 'out', true)])
    expect(conversation.blocks).toMatchObject([{ type: 'tool', call: { id: 'lost', name: 'tool' }, result: { is_error: true } }])
  })

  it('appends message pieces (deltas) to the message before them', () => {
    const conversation = conversationOf([say('Hel', true)], [say('lo', true)], [call('t')], [say('Next', true)])
    expect(conversation.blocks.flatMap((block) => (block.type === 'message' ? [block.text] : []))).toEqual([
      'Hello',
      'Next',
    ])
  })

  it('shows an error repeated right after itself once', () => {
    const conversation = conversationOf([error('retry 1/2', true)], [error('failed')], [error('failed')])
    expect(conversation.blocks.map((block) => (block.type === 'error' ? block.message : ''))).toEqual([
      'retry 1/2',
      'failed',
    ])
  })

  it("keeps a turn's last usage, shown after the turn's latest block, and sums the turns", () => {
    const conversation = conversationOf(
      [say('plan'), turn('m1', { input_tokens: 10, output_tokens: 1 })],
      [call('t1'), turn('m1', { input_tokens: 10, output_tokens: 5 })],
      [result('t1', 'ok')],
      [say('done'), turn('m2', { input_tokens: 20, output_tokens: 7, total_cost_usd: 0.5 })],
    )
    expect(conversation.blocks.map((block) => block.type)).toEqual(['message', 'tool', 'usage', 'message', 'usage'])
    expect(conversation.blocks[0]).toMatchObject({ text: 'plan' })
    expect(conversation.turnTotals).toMatchObject({ input_tokens: 30, output_tokens: 12, total_cost_usd: 0.5 })
    // The tool's place moved with the usage taken out before it: its result still joins it.
    expect(conversation.blocks[1]).toMatchObject({ type: 'tool', result: { output: 'ok' } })
  })

  it('takes the run totals from a run usage item', () => {
    const conversation = conversationOf([{ kind: 'usage', scope: 'run', turn: null, usage: usage({ total_cost_usd: 1.25 }) }])
    expect(conversation.runUsage?.total_cost_usd).toBe(1.25)
    expect(conversation.blocks).toEqual([])
  })
})

describe('usage and diffs', () => {
  it('formats a usage as one short line, leaving out what the CLI did not report', () => {
    expect(formatUsage(usage({ input_tokens: 1234, output_tokens: 56, cache_read_input_tokens: 3000, total_cost_usd: 0.0456 }))).toBe(
      '1,234 in · 56 out · 3,000 cache read · $0.0456',
    )
    expect(formatUsage(usage({ output_tokens: 9 }))).toBe('9 out')
    expect(sumUsage([])).toBeNull()
  })

  it('tells the lines of a unified diff apart', () => {
    const kinds = diffLines('--- a/x\n+++ b/x\n@@ -1 +1 @@\n-old\n+new\n same').map((line) => line.kind)
    expect(kinds).toEqual(['file', 'file', 'hunk', 'del', 'add', 'same'])
  })
})

describe('renderMarkdown', () => {
  it('renders Markdown but leaves raw HTML as text', () => {
    const html = renderMarkdown('**bold** and `code`\n\n<script>alert(1)</script><img src=x onerror=alert(1)>')
    expect(html).toContain('<strong>bold</strong>')
    expect(html).toContain('<code>code</code>')
    expect(html).not.toContain('<script')
    expect(html).not.toContain('<img')
    expect(html).toContain('&lt;script&gt;')
  })

  it('refuses javascript: links and opens the others in a new tab without access to this one', () => {
    expect(renderMarkdown('[x](javascript:alert(1))')).not.toContain('href')
    expect(renderMarkdown('[docs](https://example.com/a)')).toContain(
      '<a href="https://example.com/a" target="_blank" rel="noopener noreferrer">docs</a>',
    )
  })

  it('renders no images (a remote image would report the page being read)', () => {
    expect(renderMarkdown('![pixel](https://tracker.example/p.png)')).not.toContain('<img')
  })

  it('puts table alignment in a class, not an inline style', () => {
    const html = renderMarkdown('| a | b |\n|:-:|--:|\n| 1 | 2 |')
    expect(html).not.toContain('style=')
    expect(html).toContain('class="align-center"')
    expect(html).toContain('class="align-right"')
  })
})

describe('ConversationView', () => {
  it('shows messages as Markdown, tool calls with their command or diff, errors and totals', () => {
    const diff = '--- a/README.md\n+++ b/README.md\n@@ -1 +1 @@\n-Hello\n+Hello, world'
    const conversation = conversationOf(
      [say('I will **look**')],
      [call('t1')],
      [result('t1', 'README.md')],
      [call('t2', { name: 'Edit', command: null, path: '/README.md', diff, input: {} })],
      [result('t2', 'File has not been read yet', true)],
      [error('API error 529: retrying', true)],
    )
    const wrapper = mount(ConversationView, {
      props: {
        blocks: conversation.blocks,
        totals: usage({ input_tokens: 90, total_cost_usd: 0.0456 }),
        loading: false,
        error: null,
        active: false,
      },
    })
    expect(wrapper.get('[data-testid="conversation-message"]').html()).toContain('<strong>look</strong>')
    const [shell, edit] = wrapper.findAll('[data-testid="conversation-tool"]')
    expect(shell!.get('[data-testid="tool-command"]').text()).toBe('$ ls')
    expect(shell!.get('[data-testid="tool-state"]').text()).toBe('done')
    expect(shell!.attributes('open')).toBeUndefined()
    expect(edit!.classes()).toContain('tool--error')
    expect(edit!.attributes('open')).toBeDefined()
    expect(edit!.find('.diff__line--add').text()).toBe('+Hello, world')
    expect(edit!.find('.diff__line--del').text()).toBe('-Hello')
    expect(edit!.get('[data-testid="tool-output"]').text()).toBe('File has not been read yet')
    expect(wrapper.get('[data-testid="conversation-error"]').classes()).toContain('block__error--retrying')
    expect(wrapper.get('[data-testid="conversation-totals"]').text()).toBe('Total 90 in · $0.0456')
  })

  it('shows a call without a result as running while the run goes on', () => {
    const conversation = conversationOf([call('t1')])
    const props = { blocks: conversation.blocks, totals: null, loading: false, error: null, active: true }
    const wrapper = mount(ConversationView, { props })
    expect(wrapper.get('[data-testid="tool-state"]').text()).toBe('running…')
  })
})

describe('useConversation', () => {
  it('loads the stored pages, then applies the live entries it held meanwhile, each once', async () => {
    const pages = [
      { entries: [{ seq: 2, items: [say('stored')] }], last_seq: 5, more: true },
      { entries: [{ seq: 7, items: [say('also stored')] }], last_seq: 9, more: false },
    ]
    const server = fakeServer({
      'GET /admin/executions/e1/conversation': () => {
        const page = pages.shift()
        if (!page) throw new Error('unexpected request')
        return { status: 200, body: { execution_id: 'e1', status: 'running', usage: null, ...page } }
      },
    })
    const scope = effectScope()
    const conversation = scope.run(() => useConversation('e1'))!
    conversation.receive({ seq: 7, items: [say('also stored')] }) // live, before the pages are in
    conversation.receive({ seq: 10, items: [say('live')] })
    await conversation.load()
    expect(server.requests()).toEqual([
      'GET /admin/executions/e1/conversation?after_seq=0',
      'GET /admin/executions/e1/conversation?after_seq=5',
    ])
    const texts = () => conversation.blocks.value.map((block) => (block.type === 'message' ? block.text : ''))
    expect(texts()).toEqual(['stored', 'also stored', 'live'])
    conversation.receive({ seq: 10, items: [say('live')] }) // again, after a reconnect
    conversation.receive({ seq: 11, items: [say('later')] })
    expect(texts()).toEqual(['stored', 'also stored', 'live', 'later'])
    scope.stop()
  })
})

describe('useConversation after a dropped stream', () => {
  it('reads the entries of the lines caught up meanwhile before the live ones that follow', async () => {
    const pages = [
      { entries: [{ seq: 1, items: [say('one')] }], last_seq: 1, more: false },
      { entries: [{ seq: 3, items: [say('three, while the stream was down')] }], last_seq: 4, more: false },
    ]
    const server = fakeServer({
      'GET /admin/executions/e1/conversation': () => ({
        status: 200,
        body: { execution_id: 'e1', status: 'running', usage: null, ...pages.shift()! },
      }),
    })
    const scope = effectScope()
    const conversation = scope.run(() => useConversation('e1'))!
    await conversation.load()
    conversation.receive({ seq: 2, items: [say('two, live')] })
    conversation.pause()
    conversation.receive({ seq: 5, items: [say('five, on the new stream')] })
    await conversation.resume()
    expect(server.requests()).toEqual([
      'GET /admin/executions/e1/conversation?after_seq=0',
      'GET /admin/executions/e1/conversation?after_seq=2',
    ])
    expect(conversation.blocks.value.map((block) => (block.type === 'message' ? block.text : ''))).toEqual([
      'one',
      'two, live',
      'three, while the stream was down',
      'five, on the new stream',
    ])
    scope.stop()
  })
})
