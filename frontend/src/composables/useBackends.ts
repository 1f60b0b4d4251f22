import { computed, type ComputedRef } from 'vue'
import { listBackends } from '@/api/client'
import type { BackendType, InstalledBackend } from '@/api/types'
import { installedClis, preferredBackend } from '@/lib/backends'
import { useAsync, type AsyncState } from './useAsync'

export interface BackendsState extends AsyncState<InstalledBackend[]> {
  /** The AI CLIs installed on the server, in order of preference (empty until loaded). */
  clis: ComputedRef<InstalledBackend[]>
  /** The backend a new bot starts with, or null until the server has answered. */
  preferred: ComputedRef<BackendType | null>
  /** Whether the server said `type`'s CLI is missing (false while unknown: no warning on a guess). */
  isMissing: (type: BackendType) => boolean
}

/** Which backends the server can run (`GET /admin/backends`), loaded once per component. */
export function useBackends(): BackendsState {
  const state = useAsync((signal) => listBackends(signal))
  const clis = computed(() => installedClis(state.data.value ?? []))
  const preferred = computed(() => (state.data.value ? preferredBackend(state.data.value) : null))
  function isMissing(type: BackendType): boolean {
    return state.data.value?.some((backend) => backend.backend_type === type && !backend.installed) ?? false
  }
  return { ...state, clis, preferred, isMissing }
}
