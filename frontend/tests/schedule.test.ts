import { describe, expect, it, vi } from 'vitest'
import { afterPaint, whenIdle } from '@/lib/schedule'
import { lazy } from '@/lib/format'

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

describe('whenIdle', () => {
  it('runs the work later, not at once', async () => {
    const work = vi.fn()
    whenIdle(work)
    expect(work).not.toHaveBeenCalled()
    await vi.waitFor(() => expect(work).toHaveBeenCalledOnce())
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
