import { describe, expect, it, vi } from 'vitest'
import { effectScope, ref } from 'vue'
import { useVirtualBlocks } from '@/composables/useVirtualBlocks'

/** A ResizeObserver the test drives: `report` calls its callback with entries for elements. */
class FakeObserver {
  static latest: FakeObserver
  observed = new Set<Element>()
  constructor(readonly callback: ResizeObserverCallback) {
    FakeObserver.latest = this
  }
  observe(el: Element): void {
    this.observed.add(el)
  }
  unobserve(el: Element): void {
    this.observed.delete(el)
  }
  disconnect(): void {}
  report(sizes: [Element, number][]): void {
    const entries = sizes.map(([target, blockSize]) => ({ target, borderBoxSize: [{ blockSize, inlineSize: 100 }] }))
    this.callback(entries as unknown as ResizeObserverEntry[], this as unknown as ResizeObserver)
  }
}

function block(index: number, connected = true): HTMLElement {
  const el = document.createElement('li')
  el.dataset.index = String(index)
  if (connected) document.body.append(el)
  return el
}

function blocks(count: number) {
  vi.stubGlobal('ResizeObserver', FakeObserver)
  const box = { scrollTop: 0, clientHeight: 500 } as HTMLElement
  const scope = effectScope()
  const list = scope.run(() => useVirtualBlocks(ref(box), ref(count), { estimate: 50, overscanPx: 100 }))!
  return { box, list, observer: FakeObserver.latest }
}

describe('useVirtualBlocks', () => {
  it('draws the blocks around the screen, placed by the heights before them', () => {
    const { box, list } = blocks(1000)
    // The screen (600 px until measured) and 100 px below it: 700 px of 50 px blocks, and one.
    expect([list.first.value, list.last.value]).toEqual([0, 15])
    box.scrollTop = 5000
    list.onScroll()
    expect([list.first.value, list.last.value]).toEqual([98, 115])
    expect(list.spaceBefore.value).toBe(98 * 50)
    expect(list.spaceBefore.value + list.spaceAfter.value).toBe((1000 - (115 - 98)) * 50)
  })

  it('keeps the screen still when blocks above its top turn out taller, and lets go of blocks gone', () => {
    const { box, list, observer } = blocks(1000)
    box.scrollTop = 5000 // block 100 at the top
    list.onScroll()
    const above = [98, 99].map((index) => block(index))
    const below = block(101)
    above.concat(below).forEach((el) => list.observe(el))
    observer.report([[above[0]!, 80], [above[1]!, 70], [below, 200]])
    expect(box.scrollTop).toBe(5000 + 30 + 20) // only the blocks above moved it
    expect(list.contentHeight.value).toBe(1000 * 50 + 30 + 20 + 150)

    const gone = block(102, false)
    list.observe(gone)
    observer.report([[gone, 0]])
    expect(observer.observed.has(gone)).toBe(false)
    expect(list.contentHeight.value).toBe(1000 * 50 + 30 + 20 + 150)
  })
})
