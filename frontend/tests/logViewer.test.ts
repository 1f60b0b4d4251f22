import { mount } from '@vue/test-utils'
import { describe, expect, it } from 'vitest'
import LogViewer from '@/components/LogViewer.vue'
import { LogBuffer } from '@/lib/logBuffer'
import { logEvent } from './support/mockEventSource'

function lines(...entries: ReturnType<typeof logEvent>[]) {
  const buffer = new LogBuffer(1000)
  buffer.append(entries)
  return buffer.lines
}

function seqs(wrapper: ReturnType<typeof mount>): string[] {
  return wrapper.findAll('[data-testid="log-line"]').map((line) => line.attributes('data-seq') ?? '')
}

describe('LogViewer', () => {
  it('numbers lines by seq and marks stderr', () => {
    const wrapper = mount(LogViewer, {
      props: { lines: lines(logEvent(7, 'out'), logEvent(8, '\u001b[31mbad\u001b[0m', 'stderr')) },
    })
    expect(seqs(wrapper)).toEqual(['7', '8'])
    const stderr = wrapper.get('[data-seq="8"]')
    expect(stderr.attributes('data-stream')).toBe('stderr')
    expect(stderr.classes()).toContain('log__line--stderr')
    expect(stderr.get('.log__seq').text()).toBe('8')
    expect(stderr.text()).toContain('bad')
  })

  it('filters to matching lines and highlights the matches', async () => {
    const wrapper = mount(LogViewer, {
      props: { lines: lines(logEvent(1, 'compiling'), logEvent(2, 'Error: boom'), logEvent(3, 'another error')) },
    })
    await wrapper.get('[data-testid="log-search"]').setValue('error')
    expect(seqs(wrapper)).toEqual(['2', '3'])
    expect(wrapper.findAll('mark').map((mark) => mark.text())).toEqual(['Error', 'error'])
    expect(wrapper.get('[data-testid="log-match-count"]').text()).toContain('2')

    await wrapper.get('[data-testid="log-only-matches"]').setValue(false)
    expect(seqs(wrapper)).toEqual(['1', '2', '3'])
    expect(wrapper.findAll('mark')).toHaveLength(2)
  })

  it('renders only the newest page of lines, revealing earlier ones on request', async () => {
    const many = Array.from({ length: 25 }, (_, i) => logEvent(i + 1))
    const wrapper = mount(LogViewer, { props: { lines: lines(...many), pageSize: 10 } })
    expect(seqs(wrapper)).toHaveLength(10)
    expect(seqs(wrapper)[0]).toBe('16')

    await wrapper.get('[data-testid="log-show-earlier"]').trigger('click')
    expect(seqs(wrapper)).toHaveLength(20)
    await wrapper.get('[data-testid="log-show-earlier"]').trigger('click')
    expect(seqs(wrapper)).toHaveLength(25)
    expect(wrapper.find('[data-testid="log-show-earlier"]').exists()).toBe(false)
  })

  it('says when the oldest lines were let go', () => {
    const wrapper = mount(LogViewer, { props: { lines: lines(logEvent(5001)), dropped: 5000 } })
    expect(wrapper.get('[data-testid="log-dropped"]').text()).toContain('5,000')
  })

  it('offers "jump to latest" once the user scrolls up', async () => {
    const wrapper = mount(LogViewer, { props: { lines: lines(logEvent(1), logEvent(2)) } })
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

  it('shows an empty state', () => {
    const wrapper = mount(LogViewer, { props: { lines: [] } })
    expect(wrapper.text()).toContain('No output yet.')
  })
})
