import { flushPromises, mount } from '@vue/test-utils'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { effectScope, nextTick, ref } from 'vue'
import LogViewer from '@/components/LogViewer.vue'
import { useLogPages } from '@/composables/useLogPages'
import { SEARCH_DEBOUNCE_MS } from '@/composables/useLogSearch'
import { MAX_HEIGHT_PX, useVirtualLines } from '@/composables/useVirtualLines'
import { LogPages } from '@/lib/logBuffer'
import { lineTime, parseLineHash, sinceStart } from '@/lib/logLines'
import { afterPaint } from '@/lib/schedule'
import { fakeServer, type FakeServer } from './support/fakeServer'
import { logEvent } from './support/mockEventSource'

let server: FakeServer

beforeEach(() => {
  server = fakeServer()
  history.replaceState(null, '', '/executions/e1')
  localStorage.clear()
})

afterEach(() => {
  vi.useRealTimers()
})

/** A LogSource holding `entries` (nothing left to fetch). */
function sourceOf(...entries: ReturnType<typeof logEvent>[]) {
  const scope = effectScope()
  const source = scope.run(() => useLogPages('e1', new AbortController().signal, new LogPages()))!
  source.add(entries)
  return source
}

async function mountViewer(...entries: ReturnType<typeof logEvent>[]) {
  const wrapper = mount(LogViewer, { props: { source: sourceOf(...entries), executionId: 'e1', startedAt: '2026-11-24T09:59:59Z' } })
  await flushPromises()
  await afterPaint() // the rows come after the first paint (a new wait ends after the earlier ones)
  await flushPromises()
  return wrapper
}

function seqs(wrapper: ReturnType<typeof mount>): string[] {
  return wrapper.findAll('[data-testid="log-line"]').map((line) => line.attributes('data-seq') ?? '')
}

describe('LogViewer', () => {
  it('numbers lines by seq with links to them, and marks stderr', async () => {
    const wrapper = await mountViewer(logEvent(1, 'out'), logEvent(2, '\u001b[31mbad\u001b[0m', 'stderr'))
    expect(seqs(wrapper)).toEqual(['1', '2'])
    const stderr = wrapper.get('[data-seq="2"]')
    expect(stderr.attributes('data-stream')).toBe('stderr')
    expect(stderr.classes()).toContain('log__line--stderr')
    expect(stderr.get('.log__seq').text()).toBe('2')
    expect(stderr.get('.log__seq').attributes('href')).toBe('#L2')
    expect(stderr.text()).toContain('bad')
  })

  it('appends live lines without touching the rows already on screen', async () => {
    const source = sourceOf(logEvent(1, 'first'), logEvent(2, '\u001b[32mgreen\u001b[0m'))
    const wrapper = mount(LogViewer, { props: { source, executionId: 'e1' }, attachTo: document.body })
    await flushPromises()
    await afterPaint()
    await flushPromises()
    const before = wrapper.findAll('[data-testid="log-line"]').map((row) => row.element)
    const changes: MutationRecord[] = []
    const observer = new MutationObserver((records) => changes.push(...records))
    before.forEach((row) => observer.observe(row, { subtree: true, childList: true, characterData: true, attributes: true }))
    const inserted: MutationRecord[] = []
    const layerObserver = new MutationObserver((records) => inserted.push(...records))
    layerObserver.observe(wrapper.get('.log__layer').element, { childList: true })

    source.add([logEvent(3, 'third')])
    await flushPromises()
    const after = wrapper.findAll('[data-testid="log-line"]').map((row) => row.element)
    expect(after.map((row) => row.getAttribute('data-seq'))).toEqual(['1', '2', '3'])
    expect(after.slice(0, 2)).toEqual(before) // the same elements…
    expect(after[0]).toBe(before[0])
    expect(changes).toEqual([]) // …left alone
    expect(inserted.flatMap((record) => [...record.addedNodes]).filter((node) => node.nodeType === 1)).toEqual([after[2]])
    observer.disconnect()
    layerObserver.disconnect()
    wrapper.unmount()
  })

  it('selects a line, and a range with shift-click, into the address; opens with the linked range selected', async () => {
    const lines = Array.from({ length: 8 }, (_, i) => logEvent(i + 1))
    history.replaceState(null, '', '/executions/e1#L2-L3')
    let wrapper = await mountViewer(...lines)
    const selected = () => wrapper.findAll('.log__line--selected').map((row) => row.attributes('data-seq'))
    expect(selected()).toEqual(['2', '3'])

    await wrapper.get('[data-seq="5"] .log__seq').trigger('click')
    expect(location.hash).toBe('#L5')
    await wrapper.get('[data-seq="7"] .log__seq').trigger('click', { shiftKey: true })
    expect(location.hash).toBe('#L5-L7')
    expect(selected()).toEqual(['5', '6', '7'])
    wrapper.unmount()

    wrapper = await mountViewer(...lines)
    expect(selected()).toEqual(['5', '6', '7'])
  })

  it('searches the whole log on the server once typing pauses, and steps through the matches', async () => {
    vi.useFakeTimers()
    const asked: URLSearchParams[] = []
    server.routes['GET /admin/executions/e1/log/search/first'] = () => ({ status: 200, body: { seq: 2, wrapped: false, lines: [] } })
    server.routes['GET /admin/executions/e1/log/search'] = (_init, url) => {
      asked.push(url.searchParams)
      const offset = url.searchParams.get('at_seq') ? 0 : Number(url.searchParams.get('offset'))
      return { status: 200, body: { total: 2, offset, matches: [2, 3].slice(offset), lines: [], searched_to: 3 } }
    }
    const wrapper = mount(LogViewer, {
      props: { source: sourceOf(logEvent(1, 'compiling'), logEvent(2, 'Error: boom'), logEvent(3, 'another error')), executionId: 'e1' },
    })
    await vi.advanceTimersByTimeAsync(0)
    const input = wrapper.get('[data-testid="log-search"]')
    await input.setValue('err')
    await input.setValue('error')
    await vi.advanceTimersByTimeAsync(SEARCH_DEBOUNCE_MS - 1)
    expect(asked).toHaveLength(0)
    await vi.advanceTimersByTimeAsync(1)
    await flushPromises()
    expect(asked).toHaveLength(1) // one request for what was typed, after the pause
    expect(asked[0]?.get('q')).toBe('error')
    expect(asked[0]?.get('regex')).toBe('false')
    expect(wrapper.get('[data-testid="log-match-count"]').text()).toBe('1 of 2 matching lines')
    expect(wrapper.get('.log__line--current').attributes('data-seq')).toBe('2')
    expect(wrapper.findAll('mark').map((mark) => mark.text())).toEqual(['Error', 'error'])

    await input.trigger('keydown', { key: 'Enter' })
    await flushPromises()
    expect(wrapper.get('.log__line--current').attributes('data-seq')).toBe('3')
    await input.trigger('keydown', { key: 'Enter', shiftKey: true })
    await flushPromises()
    expect(wrapper.get('[data-testid="log-match-count"]').text()).toBe('1 of 2 matching lines')

    await wrapper.get('[data-testid="log-regex"]').setValue(true)
    await vi.advanceTimersByTimeAsync(0)
    expect(asked.at(-1)?.get('regex')).toBe('true')
  })

  it('jumps to the first match from the top of the screen before the count of all is in', async () => {
    vi.useFakeTimers()
    const firstAsked: URLSearchParams[] = []
    server.routes['GET /admin/executions/e1/log/search/first'] = (_init, url) => {
      firstAsked.push(url.searchParams)
      return { status: 200, body: { seq: 3, wrapped: false, lines: [logEvent(3, 'Error: boom')] } }
    }
    let count: (answer: { status: number; body: unknown }) => void = () => undefined
    server.routes['GET /admin/executions/e1/log/search'] = () => new Promise((resolve) => (count = resolve))
    // The match's line is not held yet: it comes with the first answer.
    const source = sourceOf(logEvent(1, 'ok'), logEvent(2, 'ok'))
    source.grow(3)
    const wrapper = mount(LogViewer, { props: { source, executionId: 'e1' } })
    await vi.advanceTimersByTimeAsync(0)
    await wrapper.get('[data-testid="log-search"]').setValue('error')
    await vi.advanceTimersByTimeAsync(SEARCH_DEBOUNCE_MS)
    await flushPromises()
    expect(firstAsked[0]?.get('from_seq')).toBe('1')
    expect(wrapper.get('.log__line--current').attributes('data-seq')).toBe('3')
    expect(wrapper.get('.log__line--current mark').text()).toBe('Error')
    expect(wrapper.get('[data-testid="log-match-count"]').text()).toBe('Line 3 · counting…')

    count({ status: 200, body: { total: 1, offset: 0, matches: [3], lines: [], searched_to: 3 } })
    await flushPromises()
    expect(wrapper.get('[data-testid="log-match-count"]').text()).toBe('1 of 1 matching line')
    expect(wrapper.get('.log__line--current').attributes('data-seq')).toBe('3')
  })

  it('says at once that nothing matches when the first match is none', async () => {
    vi.useFakeTimers()
    server.routes['GET /admin/executions/e1/log/search/first'] = () => ({ status: 200, body: { seq: null, wrapped: false, lines: [] } })
    server.routes['GET /admin/executions/e1/log/search'] = () => new Promise(() => undefined)
    const wrapper = mount(LogViewer, { props: { source: sourceOf(logEvent(1, 'ok')), executionId: 'e1' } })
    await wrapper.get('[data-testid="log-search"]').setValue('error')
    await vi.advanceTimersByTimeAsync(SEARCH_DEBOUNCE_MS)
    await flushPromises()
    expect(wrapper.get('[data-testid="log-match-count"]').text()).toBe('No matches')
  })

  it('counts the matches again while the log grows, at most once a second', async () => {
    vi.useFakeTimers()
    let total = 1
    const asked: URLSearchParams[] = []
    server.routes['GET /admin/executions/e1/log/search/first'] = () => ({ status: 200, body: { seq: 1, wrapped: false, lines: [] } })
    server.routes['GET /admin/executions/e1/log/search'] = (_init, url) => {
      asked.push(url.searchParams)
      return { status: 200, body: { total, offset: 0, matches: url.searchParams.get('limit') === '0' ? [] : [1], lines: [], searched_to: 1 } }
    }
    const source = sourceOf(logEvent(1, 'error one'))
    const wrapper = mount(LogViewer, { props: { source, executionId: 'e1' } })
    await wrapper.get('[data-testid="log-search"]').setValue('error')
    await vi.advanceTimersByTimeAsync(SEARCH_DEBOUNCE_MS)
    await flushPromises()
    expect(wrapper.get('[data-testid="log-match-count"]').text()).toBe('1 of 1 matching line')

    total = 3
    source.add([logEvent(2, 'error two')])
    source.add([logEvent(3, 'error three')])
    await vi.advanceTimersByTimeAsync(999)
    expect(asked).toHaveLength(1)
    await vi.advanceTimersByTimeAsync(1)
    await flushPromises()
    expect(asked).toHaveLength(2)
    expect(asked[1]?.get('limit')).toBe('0')
    expect(wrapper.get('[data-testid="log-match-count"]').text()).toBe('1 of 3 matching lines')
  })

  it('shows the server’s reason for a search it refuses', async () => {
    vi.useFakeTimers()
    const refused = () => ({ status: 400, body: { error: 'q: not a valid regular expression: missing )', field: 'q' } })
    server.routes['GET /admin/executions/e1/log/search/first'] = refused
    server.routes['GET /admin/executions/e1/log/search'] = refused
    const wrapper = mount(LogViewer, { props: { source: sourceOf(logEvent(1)), executionId: 'e1' } })
    await wrapper.get('[data-testid="log-search"]').setValue('(a')
    await vi.advanceTimersByTimeAsync(SEARCH_DEBOUNCE_MS)
    await flushPromises()
    expect(wrapper.get('[data-testid="log-search-error"]').text()).toBe('not a valid regular expression: missing )')
  })

  it('shows times as the clock or since the start, and remembers the choice', async () => {
    const wrapper = await mountViewer({ ...logEvent(1), timestamp: '2026-11-24T10:00:01.250Z' })
    expect(wrapper.find('[data-testid="log-time"]').exists()).toBe(false)
    await wrapper.get('[data-testid="log-timestamps"]').setValue('relative')
    expect(wrapper.get('[data-testid="log-time"]').text()).toBe('+0:02.250')
    expect(localStorage.getItem('agented.log.timestamps')).toBe('relative')
    await wrapper.get('[data-testid="log-wrap"]').setValue(false)
    expect(wrapper.get('.log').classes()).not.toContain('log--wrap')
    expect(localStorage.getItem('agented.log.wrap')).toBe('off')
  })

  it('offers "jump to latest" once the user scrolls up', async () => {
    const wrapper = await mountViewer(logEvent(1), logEvent(2))
    const scroller = wrapper.get('[data-testid="log-lines"]').element as HTMLElement
    Object.defineProperty(scroller, 'scrollHeight', { configurable: true, value: 2000 })
    Object.defineProperty(scroller, 'clientHeight', { configurable: true, value: 300 })
    expect(wrapper.find('[data-testid="log-jump-latest"]').exists()).toBe(false)

    scroller.scrollTop = 1700
    await wrapper.get('[data-testid="log-lines"]').trigger('scroll')
    scroller.scrollTop = 500
    await wrapper.get('[data-testid="log-lines"]').trigger('scroll')
    expect(wrapper.find('[data-testid="log-jump-latest"]').exists()).toBe(true)

    await wrapper.get('[data-testid="log-jump-latest"]').trigger('click')
    expect(wrapper.find('[data-testid="log-jump-latest"]').exists()).toBe(false)
  })

  it('shows an empty state', async () => {
    const wrapper = await mountViewer()
    expect(wrapper.text()).toContain('No output yet.')
  })
})

describe('useVirtualLines', () => {
  function virtualList(count: number) {
    const el = { scrollTop: 0, clientHeight: 200 } as HTMLElement
    const scope = effectScope()
    const list = scope.run(() =>
      useVirtualLines(ref(el), ref(count), { overscanAbove: ref(5), overscanBelow: 5, measureRow: () => 20 }),
    )!
    return { el, list }
  }

  it('renders a short list whole and a long one as a window around the screen', async () => {
    expect(virtualList(100).list.last.value).toBe(100)
    const { el, list } = virtualList(10_000)
    list.measure() // 200 px: 10 rows of 20 px
    expect([list.first.value, list.last.value]).toEqual([0, 15])
    el.scrollTop = 20 * 5000
    list.onScroll()
    await nextTick()
    expect([list.first.value, list.last.value]).toEqual([4995, 5015])
    expect(list.layerTop.value).toBe(4995 * 20)
    expect(list.contentHeight.value).toBe(200_000)
  })

  it('scales a list too tall for the browser into its largest height', () => {
    const rows = 2_000_000
    const { el, list } = virtualList(rows)
    list.measure()
    expect(list.contentHeight.value).toBe(MAX_HEIGHT_PX)
    list.scrollToIndex(rows - 1)
    expect(el.scrollTop).toBeCloseTo(MAX_HEIGHT_PX - 200, 0)
    expect(list.last.value).toBe(rows)
    list.scrollToIndex(1_000_000)
    expect(list.topIndex.value).toBeCloseTo(1_000_000, 3)
    expect(list.first.value).toBeGreaterThanOrEqual(999_994)
    expect(list.last.value - list.first.value).toBeLessThan(25)
  })
})

describe('line links and times', () => {
  it('reads #L12 and #L10-L20 (either order), and nothing else', () => {
    expect(parseLineHash('#L12')).toEqual({ from: 12, to: 12 })
    expect(parseLineHash('#L20-L10')).toEqual({ from: 10, to: 20 })
    expect(parseLineHash('#L0')).toBeNull()
    expect(parseLineHash('#top')).toBeNull()
  })

  it('writes the time since the start, and the clock', () => {
    expect(sinceStart('2026-11-24T10:00:02.345Z', '2026-11-24T10:00:00Z')).toBe('+0:02.345')
    expect(sinceStart('2026-11-24T11:01:02.004Z', '2026-11-24T10:00:00Z')).toBe('+1:01:02.004')
    expect(lineTime('absolute', '2026-11-24T10:00:02.345Z', null)).toMatch(/^\d\d:\d\d:02\.345$/)
    expect(lineTime('off', '2026-11-24T10:00:02.345Z', null)).toBeNull()
  })
})
