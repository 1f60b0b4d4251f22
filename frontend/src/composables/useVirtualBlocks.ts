import { computed, onBeforeUnmount, shallowRef, type Ref } from 'vue'
import { useScrollBox, WHOLE_LIST_ROWS } from './useVirtualLines'

/**
 * Which blocks of a long list of blocks of any height to put in the DOM: those on screen
 * plus a margin. Where the log's rows (useVirtualLines) are placed by index alone, a
 * conversation's blocks differ too much in height for that (a one-line usage note, a long
 * Markdown answer, a tool call opened on its output): each drawn block is measured (a
 * ResizeObserver, so opening a tool call counts too), a block never drawn counts as
 * `estimate`, and a block's place is the sum of the heights before it. When blocks above the
 * top of the screen turn out taller or shorter than counted, the scroll position moves by as
 * much, so what is on screen stays put.
 *
 * The drawn blocks are laid in the normal flow between `spaceBefore` and `spaceAfter` (the
 * height of the blocks not drawn), so a short list's box is as tall as its blocks; each drawn
 * block must carry `data-index` and be handed to `observe` (a function ref). Short lists are
 * drawn whole.
 */
export interface BlockOptions {
  /** A block's height until it has been drawn, in px. */
  estimate: number
  /** How far above and below the screen blocks are drawn, in px. */
  overscanPx: number
}

export function useVirtualBlocks(scroller: Ref<HTMLElement | null>, count: Ref<number>, options: BlockOptions) {
  const { scrollTop, viewport, onScroll } = useScrollBox(scroller)
  /** Measured heights by index (a hole: not drawn yet, counted as the estimate). */
  const heights: number[] = []
  const measured = shallowRef(0)

  /** Where each block starts (and, last, where the list ends). */
  const starts = computed(() => {
    void measured.value
    const result = new Float64Array(count.value + 1)
    for (let i = 0; i < count.value; i += 1) result[i + 1] = result[i]! + (heights[i] ?? options.estimate)
    return result
  })
  const contentHeight = computed(() => starts.value[count.value]!)

  /** The index of the block at `y` px from the top (clamped to the list). */
  function indexAt(y: number): number {
    const at = starts.value
    let low = 0
    let high = Math.max(0, count.value - 1)
    while (low < high) {
      const middle = (low + high + 1) >> 1
      if (at[middle]! <= y) low = middle
      else high = middle - 1
    }
    return low
  }

  const whole = computed(() => count.value <= WHOLE_LIST_ROWS)
  const first = computed(() => (whole.value ? 0 : indexAt(scrollTop.value - options.overscanPx)))
  const last = computed(() =>
    whole.value ? count.value : Math.min(count.value, indexAt(scrollTop.value + viewport.value + options.overscanPx) + 1),
  )
  const spaceBefore = computed(() => starts.value[first.value] ?? 0)
  const spaceAfter = computed(() => contentHeight.value - (starts.value[last.value] ?? contentHeight.value))

  function resized(entries: ResizeObserverEntry[]): void {
    const el = scroller.value
    // The block at the top of the screen stays where it is: blocks above it that changed
    // height move the scroll position by as much.
    const anchor = el ? indexAt(el.scrollTop) : 0
    let shift = 0
    for (const entry of entries) {
      // A block scrolled out of the DOM is reported once more (at size 0): let go of it.
      if (!entry.target.isConnected) {
        observer?.unobserve(entry.target)
        continue
      }
      const index = Number((entry.target as HTMLElement).dataset.index)
      const height = entry.borderBoxSize?.[0]?.blockSize ?? entry.target.getBoundingClientRect().height
      const before = heights[index] ?? options.estimate
      if (!Number.isInteger(index) || height === before) continue
      heights[index] = height
      if (index < anchor) shift += height - before
    }
    measured.value += 1
    if (el && shift !== 0) {
      el.scrollTop += shift
      onScroll()
    }
  }

  const observer = typeof ResizeObserver === 'undefined' ? null : new ResizeObserver(resized)
  onBeforeUnmount(() => observer?.disconnect())

  /** A function ref for each drawn block: measures it while it is in the DOM. */
  function observe(el: unknown): void {
    if (el instanceof Element) observer?.observe(el)
  }

  return { first, last, spaceBefore, spaceAfter, contentHeight, onScroll, observe }
}
