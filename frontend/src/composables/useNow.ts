import { onScopeDispose, shallowRef, type ShallowRef } from 'vue'

interface Clock {
  now: ShallowRef<Date>
  users: number
  timer: ReturnType<typeof setInterval>
}

const clocks = new Map<number, Clock>()

/** The current time, updated every `intervalMs`; components asking for the same interval share one timer. */
export function useNow(intervalMs = 1000): ShallowRef<Date> {
  let clock = clocks.get(intervalMs)
  if (!clock) {
    const now = shallowRef(new Date())
    const timer = setInterval(() => {
      now.value = new Date()
    }, intervalMs)
    clock = { now, users: 0, timer }
    clocks.set(intervalMs, clock)
  }
  clock.users += 1
  const owned = clock
  onScopeDispose(() => {
    owned.users -= 1
    if (owned.users === 0) {
      clearInterval(owned.timer)
      clocks.delete(intervalMs)
    }
  })
  return owned.now
}
