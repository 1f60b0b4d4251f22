import { onBeforeUnmount, watchEffect, type Ref } from 'vue'
import type { Execution } from '@/api/types'
import { runTitle, statusFavicon } from '@/lib/runs'

/**
 * While a run's page is open, its tab says which run it is and how it stands
 * (`#42 bot-name · Running`) and its favicon shows the status, so a tab left
 * in the background tells when the run ended. Leaving restores the app's icon
 * (the router's title comes back by itself with the next route).
 */
export function useRunTitle(execution: Ref<Execution | null>): void {
  const icon = document.querySelector<HTMLLinkElement>('link[rel~="icon"]')
  const appIcon = icon?.href ?? null

  watchEffect(() => {
    const run = execution.value
    if (!run) return
    document.title = `${runTitle(run)} · Agented`
    if (icon) icon.href = statusFavicon(run.status)
  })

  onBeforeUnmount(() => {
    if (icon && appIcon !== null) icon.href = appIcon
  })
}
