import { onScopeDispose, ref, shallowRef, watch, type Ref, type ShallowRef, type WatchSource } from 'vue'

export interface AsyncOptions {
  /** Reload (quietly, keeping the shown data) every this many ms while the page is visible. */
  refreshMs?: number
  /** Reload from scratch whenever this source changes (e.g. a route param). */
  watch?: WatchSource<unknown>
}

export interface AsyncState<T> {
  data: ShallowRef<T | null>
  error: ShallowRef<unknown>
  /** True while the first load (or a reload after an error) is under way. */
  loading: Ref<boolean>
  /** Loads again, showing the loading state. */
  reload: () => Promise<void>
  /** Loads again in the background, keeping the current data on screen. */
  refresh: () => Promise<void>
}

/**
 * Loads data for a view: tracks loading and error, ignores answers that
 * arrive after a newer request started, aborts requests when the component
 * goes away, and optionally refreshes on an interval.
 */
export function useAsync<T>(loader: (signal: AbortSignal) => Promise<T>, options: AsyncOptions = {}): AsyncState<T> {
  const data = shallowRef<T | null>(null)
  const error = shallowRef<unknown>(null)
  const loading = ref(false)
  let controller: AbortController | null = null

  async function run(quiet: boolean): Promise<void> {
    controller?.abort()
    const current = new AbortController()
    controller = current
    if (!quiet) {
      loading.value = true
      data.value = null
    }
    try {
      const result = await loader(current.signal)
      if (controller !== current) return
      data.value = result
      error.value = null
    } catch (caught) {
      if (controller !== current) return
      error.value = caught
    } finally {
      if (controller === current) loading.value = false
    }
  }

  const reload = (): Promise<void> => run(false)
  const refresh = (): Promise<void> => run(true)

  if (options.watch) watch(options.watch, reload)

  if (options.refreshMs) {
    const timer = setInterval(() => {
      if (!document.hidden && !loading.value) void refresh()
    }, options.refreshMs)
    onScopeDispose(() => clearInterval(timer))
  }

  onScopeDispose(() => {
    controller?.abort()
    controller = null
  })

  void reload()
  return { data, error, loading, reload, refresh }
}
