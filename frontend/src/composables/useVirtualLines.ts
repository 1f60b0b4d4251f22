import { computed, onBeforeUnmount, onMounted, ref, type Ref } from 'vue'

/**
 * Which rows of a very long list to put in the DOM: those on screen plus a
 * margin, however many rows there are. Hand-written rather than a library
 * because a log needs two things the common virtual lists lack: more rows
 * than a browser can make tall (1,000,000 rows of 20 px exceed what some
 * browsers lay out, so past `MAX_HEIGHT_PX` the scroll range is scaled and a
 * scroll position maps to a fractional row), and wrapped rows of any height
 * without measuring them (a row's place is its index × the base row height;
 * rows in the window flow naturally from the top row, so a wrapped row only
 * pushes the rows below it).
 *
 * The window is laid as one block: `layerTop` is where its first row goes.
 * Unscaled, that is exactly `first × rowHeight`, so rows sit still while the
 * page scrolls; scaled, the block follows the scroll position.
 */

/** Content taller than this is scaled into it (Firefox lays out up to about 17.8 M px). */
export const MAX_HEIGHT_PX = 15_000_000
/** Lists up to this long are rendered whole. */
export const WHOLE_LIST_ROWS = 150

export interface VirtualOptions {
  /** Rows rendered above the screen (0 when rows may wrap: they must start at the top row). */
  overscanAbove: Ref<number>
  /** Rows rendered below the screen. */
  overscanBelow: number
  /** The base row height now, or null before there is a row (see `measure`). */
  measureRow: () => number | null
}

/**
 * What every virtual list needs of its scroll box: where it is scrolled to and how tall it
 * is, kept up to date (`onScroll` on its scroll events; its size by a ResizeObserver, whose
 * first call comes after the browser's own layout: measuring on mount instead would force
 * that layout in the task that rendered the page). `onResize` runs after each size change.
 */
export function useScrollBox(scroller: Ref<HTMLElement | null>, onResize: () => void = () => undefined) {
  const scrollTop = ref(0)
  const viewport = ref(600)

  function onScroll(): void {
    if (scroller.value) scrollTop.value = scroller.value.scrollTop
  }

  function measureBox(): void {
    if (scroller.value && scroller.value.clientHeight > 0) viewport.value = scroller.value.clientHeight
  }

  let observer: ResizeObserver | null = null
  function resized(): void {
    measureBox()
    onResize()
  }
  onMounted(() => {
    if (typeof ResizeObserver === 'undefined' || !scroller.value) return resized()
    observer = new ResizeObserver(resized)
    observer.observe(scroller.value)
  })
  onBeforeUnmount(() => observer?.disconnect())

  return { scrollTop, viewport, onScroll, measureBox }
}

export function useVirtualLines(scroller: Ref<HTMLElement | null>, count: Ref<number>, options: VirtualOptions) {
  const { scrollTop, viewport, onScroll, measureBox } = useScrollBox(scroller, measureRow)
  const rowHeight = ref(19.5)

  const naturalHeight = computed(() => count.value * rowHeight.value)
  const contentHeight = computed(() => Math.min(naturalHeight.value, MAX_HEIGHT_PX))
  const rowsOnScreen = computed(() => Math.max(1, Math.ceil(viewport.value / rowHeight.value)))
  /** The largest index the top row can have. */
  const maxTop = computed(() => Math.max(0, count.value - viewport.value / rowHeight.value))
  const maxScroll = computed(() => Math.max(0, contentHeight.value - viewport.value))
  const scaled = computed(() => naturalHeight.value > MAX_HEIGHT_PX)

  /** The (fractional) index of the row at the top of the screen. */
  const topIndex = computed(() => {
    if (!scaled.value) return Math.min(scrollTop.value / rowHeight.value, Math.max(0, count.value - 1))
    return maxScroll.value > 0 ? (Math.min(scrollTop.value, maxScroll.value) / maxScroll.value) * maxTop.value : 0
  })
  /** A short list is rendered whole: nothing to gain, and its rows never leave the DOM. */
  const whole = computed(() => count.value <= WHOLE_LIST_ROWS)
  const first = computed(() => (whole.value ? 0 : Math.max(0, Math.floor(topIndex.value) - options.overscanAbove.value)))
  const last = computed(() =>
    whole.value ? count.value : Math.min(count.value, Math.ceil(topIndex.value) + rowsOnScreen.value + options.overscanBelow),
  )
  // Scaled, the block follows the scroll position, up to the end of the scaled range: wrapped
  // rows at the end may reach past it, and the rest of the way scrolls as usual.
  const layerTop = computed(() =>
    scaled.value
      ? Math.min(scrollTop.value, maxScroll.value) - (topIndex.value - first.value) * rowHeight.value
      : first.value * rowHeight.value,
  )

  /** The scroll position that puts row `index` at the top. */
  function offsetOf(index: number): number {
    if (!scaled.value) return index * rowHeight.value
    return maxTop.value > 0 ? (Math.min(index, maxTop.value) / maxTop.value) * maxScroll.value : 0
  }

  /** Scrolls row `index` to the top, or to the middle of the screen. */
  function scrollToIndex(index: number, align: 'start' | 'center' = 'start'): void {
    const el = scroller.value
    if (!el) return
    const top = align === 'center' ? index - Math.floor(rowsOnScreen.value / 2) + 1 : index
    el.scrollTop = offsetOf(Math.max(0, top))
    scrollTop.value = el.scrollTop
  }

  function measureRow(): void {
    const height = options.measureRow()
    if (height) rowHeight.value = height
  }

  /** Reads the screen's and a row's height again; done on mount, on resize, and when asked. */
  function measure(): void {
    measureBox()
    measureRow()
  }

  return { first, last, layerTop, contentHeight, topIndex, onScroll, scrollToIndex, measure }
}
