import { ref, shallowRef, type Ref, type ShallowRef } from 'vue'

export interface ActionState<A extends unknown[]> {
  /** True while the action runs. */
  busy: Ref<boolean>
  /** What the last run threw, or null. */
  error: ShallowRef<unknown>
  /** Runs the action: clears the error, sets busy until it settles, keeps what it throws in `error`. */
  run: (...args: A) => Promise<void>
}

/** A user-triggered action (a button's request) with its busy flag and error. */
export function useAction<A extends unknown[]>(action: (...args: A) => Promise<void>): ActionState<A> {
  const busy = ref(false)
  const error = shallowRef<unknown>(null)

  async function run(...args: A): Promise<void> {
    busy.value = true
    error.value = null
    try {
      await action(...args)
    } catch (caught) {
      error.value = caught
    } finally {
      busy.value = false
    }
  }

  return { busy, error, run }
}
