import { inject, reactive, readonly, type App, type DeepReadonly, type InjectionKey } from 'vue'
import { checkApiKey, getApiKey, isOpenWithoutKey, onSessionEnd, setApiKey, signOut } from '@/api/client'

/** `checking` until the key (or the server's need for one) is known. */
export type SessionStatus = 'checking' | 'signed-in' | 'signed-out'

export interface SessionState {
  status: SessionStatus
  /** Why the sign-in screen shows, when there is more to say than "sign in". */
  notice: string | null
  /** Whether a key is in use; false when the server needs none (then there is no signing out). */
  hasKey: boolean
}

export interface Session {
  readonly state: DeepReadonly<SessionState>
  /** Decides the first screen: verifies the key from a sign-in link or the one kept from before. */
  start: (linkKey: string | null) => Promise<void>
  /** Tries a pasted key: true and signed in if the server accepts it, false on 401; other failures throw. */
  signIn: (key: string) => Promise<boolean>
  signOut: () => void
  install: (app: App) => void
}

export const NOT_ACCEPTED = 'That key was not accepted.'
const NOTICES = {
  'signed-out': 'You signed out.',
  rejected: 'The server no longer accepts your key. Sign in again.',
} as const

const SESSION_KEY: InjectionKey<Session> = Symbol('session')

/**
 * Whether the dashboard may show its pages, following the API client: a key
 * the server refuses at any time (a 401) or signing out ends the session.
 * Install it with `app.use(session)`; components reach it with `useSession()`.
 */
export function createSession(): Session {
  const state = reactive<SessionState>({ status: 'checking', notice: null, hasKey: false })

  function signedIn(): void {
    Object.assign(state, { status: 'signed-in', notice: null, hasKey: getApiKey() !== null })
  }

  function signedOut(notice: string | null): void {
    Object.assign(state, { status: 'signed-out', notice, hasKey: false })
  }

  async function start(linkKey: string | null): Promise<void> {
    if (linkKey !== null) setApiKey(linkKey)
    const key = getApiKey()
    if (key === null) {
      if (await isOpenWithoutKey().catch(() => false)) signedIn()
      else signedOut(null)
      return
    }
    // When the server cannot say (unreachable, failing), keep the key: the pages show the error.
    if (await checkApiKey(key).catch(() => true)) {
      signedIn()
      return
    }
    setApiKey(null)
    signedOut(linkKey === null ? NOTICES.rejected : NOT_ACCEPTED)
  }

  async function signIn(key: string): Promise<boolean> {
    if (!(await checkApiKey(key))) return false
    setApiKey(key)
    signedIn()
    return true
  }

  const session: Session = {
    state: readonly(state),
    start,
    signIn,
    signOut,
    install: (app) => {
      app.provide(SESSION_KEY, session)
      app.onUnmount(onSessionEnd((reason) => signedOut(NOTICES[reason])))
    },
  }
  return session
}

export function useSession(): Session {
  const session = inject(SESSION_KEY)
  if (!session) throw new Error('useSession() needs app.use(createSession())')
  return session
}
