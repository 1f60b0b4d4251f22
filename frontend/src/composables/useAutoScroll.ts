import { nextTick, ref, type Ref } from 'vue'

/** The parts of an element the auto-scroll logic reads and writes. */
export interface Scrollable {
  scrollTop: number
  readonly scrollHeight: number
  readonly clientHeight: number
}

/** Within this many pixels of the end counts as "at the bottom". */
const BOTTOM_THRESHOLD_PX = 24

export function isAtBottom(el: Scrollable, threshold = BOTTOM_THRESHOLD_PX): boolean {
  return el.scrollHeight - el.clientHeight - el.scrollTop <= threshold
}

/**
 * Keeps a scroll container pinned to its end while new content arrives.
 * Following pauses as soon as the user scrolls up and resumes when they
 * reach the bottom again (by scrolling or by `scrollToBottom()`). Scroll
 * events caused by content growing or by our own scrolling never pause it,
 * because only a decrease of `scrollTop` counts as the user scrolling up.
 */
export function useAutoScroll(target: Ref<Scrollable | null>) {
  const following = ref(true)
  let lastTop = 0

  function onScroll(): void {
    const el = target.value
    if (!el) return
    if (isAtBottom(el)) following.value = true
    else if (el.scrollTop < lastTop) following.value = false
    lastTop = el.scrollTop
  }

  function pin(): void {
    const el = target.value
    if (!el) return
    el.scrollTop = el.scrollHeight
    lastTop = el.scrollTop
  }

  /** Jumps to the latest content and follows it again. */
  function scrollToBottom(): void {
    following.value = true
    pin()
  }

  /** Call after content was added; scrolls once the DOM has updated, if following. */
  async function onContentChanged(): Promise<void> {
    if (!following.value) return
    await nextTick()
    if (following.value) pin()
  }

  return { following, onScroll, scrollToBottom, onContentChanged }
}
