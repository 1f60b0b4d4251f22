import { afterEach, describe, expect, it, vi } from 'vitest'
import { takeKeyFromUrl } from '@/lib/signInLink'

/** Puts `url` in the (happy-dom) address bar with some history state, then takes the key out. */
function open(url: string) {
  window.history.replaceState({ from: 'router' }, '', url)
  const replaceState = vi.spyOn(window.history, 'replaceState')
  const key = takeKeyFromUrl(window.location, window.history)
  const { pathname, search, hash } = window.location
  return { key, address: `${pathname}${search}${hash}`, replaceState }
}

afterEach(() => {
  window.history.replaceState(null, '', '/')
})

describe('takeKeyFromUrl', () => {
  it('takes the key from /?token= and leaves the bare path', () => {
    const { key, address } = open('/?token=abc123')
    expect(key).toBe('abc123')
    expect(address).toBe('/')
  })

  it('works on any page, keeping the path, the other parameters as written and the hash', () => {
    const { key, address } = open('/executions/e1?q=a%20b&token=k%2By&flag&status=failed#log-42')
    expect(key).toBe('k+y')
    expect(address).toBe('/executions/e1?q=a%20b&flag&status=failed#log-42')
  })

  it('removes every token parameter and uses the first', () => {
    const { key, address } = open('/bots?token=first&page=2&token=second')
    expect(key).toBe('first')
    expect(address).toBe('/bots?page=2')
  })

  it('rewrites the address in place, keeping the history state (no new history entry)', () => {
    const before = window.history.length
    const { replaceState } = open('/bots?token=abc')
    expect(replaceState).toHaveBeenCalledOnce()
    expect(replaceState).toHaveBeenCalledWith({ from: 'router' }, '', '/bots')
    expect(window.history.length).toBe(before)
  })

  it('leaves a URL without a token alone', () => {
    const { key, address, replaceState } = open('/bots?tokens=1&my_token=2#token=3')
    expect(key).toBeNull()
    expect(address).toBe('/bots?tokens=1&my_token=2#token=3')
    expect(replaceState).not.toHaveBeenCalled()
  })

  it('removes an empty token without signing in with it', () => {
    const { key, address } = open('/?token=&x=1')
    expect(key).toBeNull()
    expect(address).toBe('/?x=1')
  })
})
