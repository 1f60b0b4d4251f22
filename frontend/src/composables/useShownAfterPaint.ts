import { ref, watch, type Ref } from 'vue'
import { afterPaint } from '@/lib/schedule'

/**
 * For a part of a page that may come a frame after the rest: false until the page has been
 * drawn once with `ready()` true, then true for good. The part's rendering then runs in a
 * task of its own rather than adding to the task that rendered the page (see lib/schedule).
 */
export function useShownAfterPaint(ready: () => boolean): Ref<boolean> {
  const shown = ref(false)
  let waiting = false
  watch(
    ready,
    async (now) => {
      if (!now || waiting) return
      waiting = true
      await afterPaint()
      shown.value = true
    },
    { immediate: true },
  )
  return shown
}
