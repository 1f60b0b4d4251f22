import { describe, expect, it, vi } from 'vitest'
import { afterPaint } from '@/lib/schedule'
import { lazy } from '@/lib/format'
import { loadLocaleDataAside } from '@/lib/localeData'

describe('afterPaint', () => {
  it('serves waits one frame each, in the order they were made', async () => {
    const frames: FrameRequestCallback[] = []
    vi.stubGlobal('requestAnimationFrame', (callback: FrameRequestCallback) => frames.push(callback))
    const order: string[] = []
    const first = afterPaint().then(() => order.push('first'))
    const second = afterPaint().then(() => order.push('second'))
    await vi.waitFor(() => expect(frames).toHaveLength(1)) // the second has not asked for a frame yet
    frames[0]!(0)
    await first
    expect(order).toEqual(['first'])
    await vi.waitFor(() => expect(frames).toHaveLength(2))
    frames[1]!(0)
    await second
    expect(order).toEqual(['first', 'second'])
  })

  it('goes on without a frame when none comes (a hidden tab)', async () => {
    vi.stubGlobal('requestAnimationFrame', () => 0)
    await expect(afterPaint()).resolves.toBeUndefined()
  })
})

describe('loadLocaleDataAside', () => {
  it('builds the formatters in a module worker, which is dropped if it fails', () => {
    const made: { url: string; options: WorkerOptions; terminate: () => void; onerror?: () => void }[] = []
    vi.stubGlobal(
      'Worker',
      class {
        terminate = vi.fn()
        onerror?: () => void
        constructor(url: URL, options: WorkerOptions) {
          made.push(Object.assign(this, { url: String(url), options }))
        }
      },
    )
    loadLocaleDataAside()
    expect(made).toHaveLength(1)
    expect(made[0]!.url).toMatch(/localeData\.worker\.ts\b/)
    expect(made[0]!.options).toEqual({ type: 'module' })
    made[0]!.onerror!()
    expect(made[0]!.terminate).toHaveBeenCalledOnce()
  })

  it('does nothing where there are no workers', () => {
    vi.stubGlobal('Worker', undefined)
    expect(() => loadLocaleDataAside()).not.toThrow()
  })
})

describe('lazy', () => {
  it('makes its value once, on first use', () => {
    const make = vi.fn(() => ({}))
    const value = lazy(make)
    expect(make).not.toHaveBeenCalled()
    expect(value()).toBe(value())
    expect(make).toHaveBeenCalledOnce()
  })
})
