import { describe, expect, it } from 'vitest'
import { ref } from 'vue'
import { isAtBottom, useAutoScroll, type Scrollable } from '@/composables/useAutoScroll'

/** A scroll container: 200px tall, content height set by the test. */
function container(scrollHeight: number): Scrollable & { scrollHeight: number } {
  const el = { scrollTop: 0, scrollHeight, clientHeight: 200 }
  return el
}

function setup(scrollHeight = 1000) {
  const el = container(scrollHeight)
  const target = ref<Scrollable | null>(el)
  return { el, ...useAutoScroll(target) }
}

describe('isAtBottom', () => {
  it('counts positions within the threshold as the bottom', () => {
    expect(isAtBottom({ scrollTop: 800, scrollHeight: 1000, clientHeight: 200 })).toBe(true)
    expect(isAtBottom({ scrollTop: 780, scrollHeight: 1000, clientHeight: 200 })).toBe(true)
    expect(isAtBottom({ scrollTop: 700, scrollHeight: 1000, clientHeight: 200 })).toBe(false)
    expect(isAtBottom({ scrollTop: 0, scrollHeight: 100, clientHeight: 200 })).toBe(true)
  })
})

describe('useAutoScroll', () => {
  it('follows new content to the bottom', async () => {
    const { el, following, onContentChanged } = setup()
    await onContentChanged()
    expect(el.scrollTop).toBe(1000)
    el.scrollHeight = 1500
    await onContentChanged()
    expect(el.scrollTop).toBe(1500)
    expect(following.value).toBe(true)
  })

  it('pauses when the user scrolls up and leaves the position alone', async () => {
    const { el, following, onScroll, onContentChanged } = setup()
    await onContentChanged()
    el.scrollTop = 400
    onScroll()
    expect(following.value).toBe(false)

    el.scrollHeight = 2000
    await onContentChanged()
    expect(el.scrollTop).toBe(400)
  })

  it('does not pause when content grows under a scroll event', async () => {
    const { el, following, onScroll, onContentChanged } = setup()
    await onContentChanged()
    // More content arrived before the scroll event of our own scrolling was handled.
    el.scrollHeight = 1600
    onScroll()
    expect(following.value).toBe(true)
  })

  it('resumes when the user scrolls back to the bottom', async () => {
    const { el, following, onScroll, onContentChanged } = setup()
    await onContentChanged()
    el.scrollTop = 300
    onScroll()
    expect(following.value).toBe(false)

    el.scrollTop = 500
    onScroll()
    expect(following.value).toBe(false)

    el.scrollTop = 790
    onScroll()
    expect(following.value).toBe(true)
    el.scrollHeight = 1400
    await onContentChanged()
    expect(el.scrollTop).toBe(1400)
  })

  it('jumps to the latest content and follows again', async () => {
    const { el, following, onScroll, scrollToBottom } = setup()
    el.scrollTop = 100
    onScroll()
    el.scrollTop = 50
    onScroll()
    expect(following.value).toBe(false)
    scrollToBottom()
    expect(following.value).toBe(true)
    expect(el.scrollTop).toBe(1000)
  })
})
